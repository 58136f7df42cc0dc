"""A NATS server that hangs (SIGSTOP) instead of dying, then resumes (SIGCONT): the relay and
the consumer notice the connection they held is no use any more, throw it away and carry on
on a new one, with no restart."""

import asyncio
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import nats.errors
import pytest
from nats.js.api import StreamConfig

from shared_events.core.outbox.models import OutboxEvent
from shared_events.core.outbox.relay import get_publisher, relay_pending
from shared_events.core.testing import wait_until
from shared_events.core.transport.connection import TransportError, connect, usable
from shared_events.core.transport.pull import PullSource
from tests.runner_thread import RunnerThread
from tests.testapp.models import Widget, WidgetReplica

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def hung(server):
    """The server frozen for the block, as a stuck process or a paused VM would be."""
    server.proc.send_signal(signal.SIGSTOP)
    # A signal is delivered when the kernel gets to it: on a loaded machine the server could
    # still answer right after the call, so the block starts once it is seen stopped.
    wait_until(
        lambda: process_state(server.proc.pid) == "T",
        timeout=10,
        interval=0.01,
        message="the server to be stopped",
    )
    try:
        yield
    finally:
        server.proc.send_signal(signal.SIGCONT)


def process_state(pid: int) -> str:
    """The state letter of /proc/<pid>/stat: "T" for stopped."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0]


def unpublished() -> int:
    return OutboxEvent.objects.filter(published_at__isnull=True).count()


def test_the_relay_publishes_again_soon_after_a_hung_server_resumes(own_nats_server, settings):
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "RELAY_PUBLISH_TIMEOUT_SECONDS": 0.5}
    Widget.objects.create(name="before")
    assert relay_pending()[0].published == 1  # a connection, in use
    with hung(own_nats_server):
        Widget.objects.create(name="during")
        result, _ = relay_pending()  # its flush times out; the late PONG comes after SIGCONT
        assert result.failed == 1 and result.published == 0
    # Once the server answers again, the held rows are published without a restart.
    wait_until(
        lambda: relay_pending() and unpublished() == 0,
        timeout=30,
        interval=0.2,
        message="the outbox to drain after the server resumed",
    )
    Widget.objects.create(name="after")
    wait_until(
        lambda: relay_pending() and unpublished() == 0,
        timeout=30,
        interval=0.2,
        message="a new change to be published",
    )
    assert usable(get_publisher()._nc)


async def open_pull_source(server) -> tuple:
    """A connection to the server and a pull source on a stream of its own."""
    nc = await connect(server.url, name="hung-pull-test")
    await nc.jetstream().add_stream(StreamConfig(name="HUNGTEST", subjects=["hungtest.>"]))
    source = PullSource(nc, "HUNGTEST", "hung-test", ["hungtest.>"])
    await source.open(ack_wait=30, max_ack_pending=100)
    return nc, source


def test_a_pull_source_on_a_connection_that_stopped_reading_raises(own_nats_server):
    """The very failure seen in the field: a flush that timed out during the hang leaves nats-py
    a cancelled PONG future; the late PONG kills its read loop, yet it still says connected."""

    async def run():
        nc, source = await open_pull_source(own_nats_server)
        try:
            with hung(own_nats_server):
                with pytest.raises(nats.errors.TimeoutError):
                    await nc.flush(timeout=0.3)
            await asyncio.sleep(0)
            deadline = time.monotonic() + 10
            while not nc._reading_task.done() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if not nc._reading_task.done():
                # A nats-py whose read loop survives the late PONG: end it ourselves, since
                # what is checked is what the pull source does with a reader that ended.
                nc._reading_task.cancel()
                await asyncio.sleep(0)
            assert nc.is_connected  # nats-py has not noticed
            with pytest.raises(TransportError):
                await source.fetch(10, timeout=1.0)
        finally:
            await asyncio.wait_for(nc.close(), 5)

    asyncio.run(run())


def test_a_pull_request_the_hung_server_never_ends_raises(own_nats_server):
    async def run():
        nc, source = await open_pull_source(own_nats_server)
        try:
            with hung(own_nats_server):
                # Not an empty batch after another: the connection is given up.
                with pytest.raises(TransportError, match="did not answer a ping"):
                    await source.fetch(10, timeout=0.5)
        finally:
            await asyncio.wait_for(nc.close(), 5)

    asyncio.run(run())


def relayed_everything() -> bool:
    """One relay pass, then whether nothing is left unpublished."""
    relay_pending()
    return unpublished() == 0


def test_relay_and_consumer_converge_after_a_hang_with_writes_going_on(own_nats_server, settings):
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "RELAY_PUBLISH_TIMEOUT_SECONDS": 0.5}

    def replicas_match() -> bool:
        source = {str(w.pk): w.version for w in Widget.objects.all()}
        replica = {str(r.pk): r.source_version for r in WidgetReplica.objects.all()}
        return source == replica

    with RunnerThread():
        Widget.objects.create(name="before")
        relay_pending()
        wait_until(replicas_match, timeout=30, message="the replica before the hang")
        with hung(own_nats_server):
            for i in range(3):  # writes go on; the relay tries and fails
                Widget.objects.create(name=f"during{i}")
                relay_pending()
            time.sleep(3)  # the consumer's pull requests go unanswered meanwhile
        wait_until(
            relayed_everything,
            timeout=30,
            interval=0.2,
            message="the outbox to drain after the server resumed",
        )
        wait_until(replicas_match, timeout=30, message="the replica to converge")
