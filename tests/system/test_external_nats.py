"""NATS_URL switches the platform to a NATS server of the operator's own: `up` starts none, and
the events go through that one (a registration reaches voting, the streams live there)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared_events.core.testing import NatsServer, wait_until
from shared_events.core.transport.connection import connect
from tests.system.harness import Platform

PASSWORD = "a-long-enough-passphrase-42"


class ExternalNatsPlatform(Platform):
    def __init__(self, nats_url: str, workdir: Path) -> None:
        super().__init__(workdir)
        self.nats_url = nats_url

    def environment(self) -> dict[str, str]:
        return {**super().environment(), "NATS_URL": self.nats_url}


@pytest.fixture
def external_nats(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(store_dir=tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.close()


async def _stream_messages(url: str) -> dict[str, int]:
    nc = await connect(url, name="systest-external-nats")
    try:
        js = nc.jetstream()
        return {
            name: (await js.stream_info(name)).state.messages
            for name in ("ACCOUNTS", "POLLS", "VOTING")
        }
    finally:
        await nc.close()


def test_nats_url_puts_the_platform_on_that_server(external_nats: NatsServer, tmp_path: Path):
    platform = ExternalNatsPlatform(external_nats.url, tmp_path / "platform")
    try:
        platform.start()
        # 1. No NATS of the platform's own: every process was given the operator's server.
        assert "nats" not in platform.specs, sorted(platform.specs)
        assert {spec.env["NATS_URL"] for spec in platform.specs.values()} == {external_nats.url}

        # 2. A registration reaches voting through it.
        email = f"external-{uuid.uuid4().hex[:8]}@example.com"
        assert (
            platform.api(
                "POST", "accounts", "register/", {"email": email, "password": PASSWORD}
            ).status
            == 201
        )
        access = platform.api(
            "POST", "accounts", "token/", {"email": email, "password": PASSWORD}
        ).body["access"]
        wait_until(
            lambda: platform.api("GET", "voting", "me/", token=access).status == 200,
            timeout=30,
            interval=0.1,
            message="the voter in voting",
        )

        # 3. The streams, and the account's event, are on that server.
        messages = asyncio.run(_stream_messages(external_nats.url))
        assert messages["ACCOUNTS"] >= 1, messages
    except BaseException:
        print(platform.logs(tail=80))
        raise
    finally:
        platform.close()
