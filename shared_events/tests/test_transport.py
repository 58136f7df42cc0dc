"""transport: its own parsing of what JetStream puts in a message's ack subject, and the
consumer's fetch (`PullSource`) against a real server."""

import asyncio
import time

import pytest
from nats.aio.msg import Msg
from nats.js.api import StreamConfig

from shared_events.core.transport.connection import TransportError, connect
from shared_events.core.transport.pull import PullSource, _ack_metadata


def _msg(reply: str) -> Msg:
    return Msg(_client=None, subject="accounts.account.x", reply=reply, data=b"{}")


def test_the_ack_subject_gives_stream_sequence_and_deliveries():
    v1 = "$JS.ACK.ACCOUNTS.voting-accounts.3.1042.17.1764612345000000000.9"
    assert _ack_metadata(_msg(v1)) == ("ACCOUNTS", 1042, 3)
    # With a domain and an account hash (and a random last token), as newer servers send it.
    v2 = "$JS.ACK.hub.ACCHASH.POLLS.voting-polls.1.77.5.1764612345000000000.0.abc123"
    assert _ack_metadata(_msg(v2)) == ("POLLS", 77, 1)


def test_it_agrees_with_nats_py_where_both_parse():
    for reply in (
        "$JS.ACK.ACCOUNTS.d.2.5.4.1764612345000000000.0",
        "$JS.ACK._.HASH.VOTING.d.7.9.8.1764612345000000000.3.zz",
    ):
        meta = _msg(reply).metadata
        assert _ack_metadata(_msg(reply)) == (meta.stream, meta.sequence.stream, meta.num_delivered)


# -- PullSource, the consumer's fetch, against a real server ------------------------------------


def _with_source(url: str, body, *, subjects=("pulltest.>",)):
    """Run `body(nc, js, source)` on a fresh PULLTEST stream with a durable consumer."""

    async def run():
        nc = await connect(url, name="pull-source-test")
        js = nc.jetstream()
        try:
            await js.add_stream(StreamConfig(name="PULLTEST", subjects=["pulltest.>"]))
            source = PullSource(nc, "PULLTEST", "pull-test", list(subjects))
            await source.open(ack_wait=30, max_ack_pending=100)
            return await body(nc, js, source)
        finally:
            if not nc.is_closed:
                await js.delete_stream("PULLTEST")
                await nc.close()

    return asyncio.run(run())


def test_a_fetch_returns_what_is_waiting_up_to_the_batch_then_the_rest(fresh_streams):
    async def body(nc, js, source):
        for i in range(7):
            await js.publish(f"pulltest.{i}", f"m{i}".encode(), headers={"Nats-Msg-Id": str(i)})
        first = await source.fetch(5, timeout=1.0)
        rest = await source.fetch(5, timeout=1.0)
        for d in first + rest:
            await d.ack()
        return first, rest

    first, rest = _with_source(fresh_streams, body)
    assert [d.data for d in first] == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    assert [(d.data, d.stream, d.stream_seq, d.num_delivered) for d in rest] == [
        (b"m5", "PULLTEST", 6, 1),
        (b"m6", "PULLTEST", 7, 1),
    ]


def test_a_fetch_waits_its_timeout_for_a_first_message_and_returns_it_promptly(fresh_streams):
    async def body(nc, js, source):
        started = time.monotonic()
        assert await source.fetch(100, timeout=0.3) == []  # nothing came: empty, not an error
        waited = time.monotonic() - started

        async def publish_later():
            await asyncio.sleep(0.2)
            await js.publish("pulltest.late", b"late")
            return time.monotonic()

        later = asyncio.ensure_future(publish_later())
        got = await source.fetch(100, timeout=5.0)
        returned_after_publish = time.monotonic() - await later
        return waited, got, returned_after_publish

    waited, got, returned_after_publish = _with_source(fresh_streams, body)
    assert 0.25 <= waited < 2.0
    assert [d.data for d in got] == [b"late"]
    # A batch of 100 asked, one there: it comes back at once, not when the 5 s are up.
    assert returned_after_publish < 1.0


def test_a_fetch_whose_consumer_was_deleted_raises_for_the_runner_to_reconnect(fresh_streams):
    async def body(nc, js, source):
        await js.delete_consumer("PULLTEST", "pull-test")
        with pytest.raises(TransportError):
            await source.fetch(10, timeout=1.0)

    _with_source(fresh_streams, body)


def test_a_fetch_on_a_closed_connection_raises(fresh_streams):
    async def body(nc, js, source):
        await js.delete_stream("PULLTEST")
        await nc.close()
        with pytest.raises(TransportError):
            await source.fetch(10, timeout=1.0)

    _with_source(fresh_streams, body)


def test_a_fetch_waiting_when_the_connection_closes_raises_soon(fresh_streams):
    async def body(nc, js, source):  # the stream stays; the next test's fixture removes it
        asyncio.get_running_loop().call_later(0.2, lambda: asyncio.ensure_future(nc.close()))
        started = time.monotonic()
        with pytest.raises(TransportError):
            await source.fetch(10, timeout=5.0)
        return time.monotonic() - started

    assert _with_source(fresh_streams, body) < 2.0
