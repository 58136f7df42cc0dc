import asyncio

import pytest

from shared_events.core.testing import NatsServer


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
