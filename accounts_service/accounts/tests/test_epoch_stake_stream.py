"""The stake distribution's parts through the real pipeline: the relay publishes them to the
ACCOUNTS stream under `accounts.epoch_stake.<epoch>-<part>`, a consumer that registers a handler
for the type (as voting does) receives every part, and a rebuild from the stream (voting's
`replay_events`) gets them all again. Real NATS, real relay, real consumer runner."""

import asyncio
import threading

import nats
import pytest

from accounts.chain.sources import StakeRow
from accounts.services import epoch_stake_import
from shared_events.core.consumer import registry
from shared_events.core.consumer.models import ProcessedEvent
from shared_events.core.consumer.rebuild import rebuild_replicas
from shared_events.core.consumer.runner import ConsumerRunner
from shared_events.core.outbox.relay import relay_pending
from shared_events.core.testing import wait_until

from .chain.remotes import POOL, stake_addresses

pytestmark = pytest.mark.django_db(transaction=True)
TYPE = "accounts.epoch_stake.created"


@pytest.fixture
def empty_streams(nats_url):
    async def wipe() -> None:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            for info in await js.streams_info():
                await js.delete_stream(info.config.name)
        finally:
            await nc.close()

    asyncio.run(wipe())
    return nats_url


class Consumer:
    """The real consumer runner in a thread, as `manage.py consume_events` runs it."""

    def __init__(self) -> None:
        self.runner = ConsumerRunner()
        self.loop = asyncio.new_event_loop()
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(
            target=self.loop.run_until_complete, args=(self.main(),), daemon=True
        )

    async def main(self) -> None:
        self.stop = asyncio.Event()
        await self.runner.run(self.stop)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        wait_until(lambda: self.stop is not None, timeout=5)
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(15)
        assert not self.thread.is_alive()


def test_every_part_reaches_a_consumer_and_a_rebuild(empty_streams, settings, monkeypatch):
    settings.POOL_ID = POOL
    settings.LOYALTY_BACKFILL_EPOCHS = 2
    addresses = sorted(stake_addresses(2300, seed="stream"))
    epoch_stake_import(
        epoch=511, pool_id=POOL, source="file", rows=[StakeRow(a, 7) for a in addresses[:1500]]
    )
    epoch_stake_import(
        epoch=512,
        pool_id=POOL,
        source="file",
        rows=[StakeRow(a, 1_000_000 + i) for i, a in enumerate(addresses)],
    )
    received = []
    monkeypatch.setitem(registry._handlers, TYPE, received.append)
    assert "accounts.epoch_stake.*" in registry.subscriptions()["ACCOUNTS"]

    with Consumer():
        relay_pending()
        wait_until(lambda: len(received) == 3, timeout=20, message="the three parts of 512")

    def rows_of(events):
        parts = sorted(events, key=lambda e: e.data.part)
        assert [e.envelope.aggregate_id for e in parts] == ["512-0", "512-1", "512-2"]
        assert {e.data.parts for e in parts} == {3}
        return [row for e in parts for row in e.data.rows]

    expected = [[a, 1_000_000 + i, 2 if i < 1500 else 1] for i, a in enumerate(addresses)]
    assert rows_of(received) == expected
    # A wiped voting (no inbox, no replicas) rebuilds from the stream: every part again.
    received.clear()
    ProcessedEvent.objects.all().delete()
    report = rebuild_replicas(streams={"ACCOUNTS"})
    assert report.failed == 0
    assert rows_of([e for e in received if e.data.epoch == 512]) == expected
