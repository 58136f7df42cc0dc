"""Everything that talks to NATS JetStream. No other module imports nats.

- `Publisher`: one connection per process, on a private event-loop thread, so synchronous code
  (the Celery relay) can publish a batch with many acks in flight.
- `connect`, `ensure_stream`, `PullSource`: the asynchronous side the consumer runner uses.
- `usable`, `close_bounded`: a connection that missed a deadline or whose reading task ended is
  thrown away, never waited on: nats-py does not always notice a dead one (see `usable`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import json
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from .streams import StreamSpec

log = logging.getLogger(__name__)

MSG_ID_HEADER = "Nats-Msg-Id"
EVENT_TYPE_HEADER = "Event-Type"


class TransportError(Exception):
    """NATS could not be reached or did not confirm in time."""


@dataclasses.dataclass(frozen=True)
class OutgoingMessage:
    subject: str
    payload: bytes
    msg_id: str
    event_type: str


async def connect(url: str, *, name: str, connect_timeout: float = 2.0) -> Client:
    """A connection, or TransportError at once when the server is not there.

    No automatic reconnect: nats-py would buffer publishes and retry a first connect forever.
    The relay reconnects on its next batch and the consumer in its run loop, with backoff."""

    async def _quiet(exc: Exception) -> None:
        log.debug("nats: %s", exc)

    nc = Client()
    try:
        await asyncio.wait_for(
            nc.connect(
                servers=[url],
                name=name,
                connect_timeout=connect_timeout,
                allow_reconnect=False,
                # nats-py retries even a first connect until this count is passed.
                max_reconnect_attempts=1,
                reconnect_time_wait=0.05,
                error_cb=_quiet,
            ),
            timeout=connect_timeout + 0.5,
        )
        return nc
    except Exception as exc:  # nats-py raises a zoo of errors for a server that is not there
        await close_bounded(nc)
        reason = str(exc) or type(exc).__name__
        raise TransportError(f"cannot connect to NATS at {url}: {reason}") from exc


# Closing flushes what is buffered, which a server that hangs never takes.
_CLOSE_TIMEOUT_SECONDS = 2.0


def usable(nc: Client) -> bool:
    """Whether a connection can still deliver answers. nats-py cancels the PONG future of a
    `flush` that timed out; the late PONG then raises in its read loop, which ends while the
    connection still says connected, so every ack after that is lost."""
    reading = getattr(nc, "_reading_task", None)
    return (not nc.is_closed and nc.is_connected
            and reading is not None and not reading.done())


async def close_bounded(nc: Client, timeout: float = _CLOSE_TIMEOUT_SECONDS) -> None:
    """Close without waiting on the server: past `timeout` (or on any error) drop the socket."""
    try:
        await asyncio.wait_for(nc.close(), timeout)
        return
    except Exception as exc:  # a hung server, or nats-py tripping over a half-made connection
        log.debug("nats: closing a connection: %r", exc)
    writer = getattr(getattr(nc, "_transport", None), "_io_writer", None)
    if writer is not None:
        writer.transport.abort()


def _stream_config(spec: StreamSpec) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        num_replicas=spec.replicas,
        max_msgs_per_subject=spec.max_msgs_per_subject,
        duplicate_window=spec.duplicate_window_seconds,
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec) -> None:
    """Create the stream, or bring its limits in line with the spec. Safe to run anywhere."""
    wanted = _stream_config(spec)
    try:
        info = await js.stream_info(spec.name)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(wanted)
            log.info("created stream %s", spec.name)
            return
        except nats.js.errors.BadRequestError:
            info = await js.stream_info(spec.name)  # another process created it just now
    have = info.config
    if (
        list(have.subjects or []) != wanted.subjects
        or have.max_msgs_per_subject != wanted.max_msgs_per_subject
        or abs((have.duplicate_window or 0) - wanted.duplicate_window) > 0.001
        or (have.num_replicas or 1) != wanted.num_replicas
    ):
        # Storage type cannot change in place; everything compared above can.
        wanted.storage = have.storage
        await js.update_stream(wanted)
        log.info("updated stream %s", spec.name)


async def stream_state(js: JetStreamContext, name: str) -> dict[str, Any]:
    info = await js.stream_info(name)
    cfg = info.config
    return {
        "messages": info.state.messages,
        "last_seq": info.state.last_seq,
        "storage": getattr(cfg.storage, "value", cfg.storage),
        "duplicate_window": cfg.duplicate_window,
        "max_msgs_per_subject": cfg.max_msgs_per_subject,
        "replicas": cfg.num_replicas,
        "subjects": list(cfg.subjects or []),
    }


# --- publishing from synchronous code ---------------------------------------------------------


class PublishingBatch:
    """A batch handed to the publisher's loop; `result()` is `publish_batch`'s answer."""

    def __init__(self, future: concurrent.futures.Future, timeout: float) -> None:
        self._future, self._timeout = future, timeout

    def result(self) -> list[BaseException | None]:
        try:
            return self._future.result(self._timeout)
        except TimeoutError:
            self._future.cancel()
            raise TransportError("publishing did not finish in time") from None


class _AckBatch:
    """The acks one published batch is waiting for."""

    def __init__(self, size: int, loop: asyncio.AbstractEventLoop) -> None:
        self.results: list[BaseException | None] = [_NO_ACK] * size
        self.waiting = size
        self.done = loop.create_future()
        if not size:
            self.done.set_result(None)

    def settle(self, index: int, outcome: BaseException | None) -> None:
        if self.results[index] is _NO_ACK:
            self.results[index] = outcome
            self.waiting -= 1
            if not self.waiting and not self.done.done():
                self.done.set_result(None)


_NO_ACK = TransportError("no ack from JetStream in time")


def _ack_outcome(msg: Msg) -> BaseException | None:
    """None if JetStream stored the message (a duplicate id counts: it has it), else why not."""
    if not msg.data:
        status = (msg.headers or {}).get("Status", "")
        return TransportError(f"JetStream did not answer (status {status or 'unknown'}): "
                              "is the stream there?")
    if b'"error"' not in msg.data:
        return None
    try:
        error = json.loads(msg.data)["error"]
        return TransportError(f"JetStream refused: {error.get('description', error)}")
    except (ValueError, KeyError, TypeError, AttributeError):
        return TransportError(f"JetStream refused: {msg.data[:200]!r}")


class Publisher:
    """A process-wide JetStream publisher usable from any thread.

    Created lazily and re-created after a fork (Celery prefork, gunicorn), because an event loop
    and its socket cannot be shared across processes.

    Publishes with acks as JetStream's own clients do (each message carries a reply subject,
    the stream answers there), but lean: one wildcard subscription collects the acks of every
    batch, and a batch waits on one future. nats-py's `publish_async` spends a task, a future and
    a semaphore on each message, which made it the relay's bound (`manage_all.py bench`, relay).
    """

    def __init__(self, url: str, *, name: str, streams: Sequence[StreamSpec]) -> None:
        self._url = url
        self._name = name
        self._streams = list(streams)
        self._lock = threading.Lock()
        self._pid = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._nc: Client | None = None
        self._reply_prefix = ""
        self._next_reply = 0
        self._awaiting: dict[int, tuple[_AckBatch, int]] = {}
        self._connecting = asyncio.Lock()
        self._closing: set[asyncio.Future] = set()  # connections being thrown away

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._nc = None
                self._connecting = asyncio.Lock()  # one connection for concurrent batches
                self._closing = set()
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="nats-publisher", daemon=True
                )
                thread.start()
                self._loop = loop
            return self._loop

    def publish_batch(
        self, messages: Sequence[OutgoingMessage], *, timeout: float
    ) -> list[BaseException | None]:
        """Publish all messages with their acks in flight together. Returns, per message, None
        when JetStream stored it (or already had it: a duplicate id is an ack too), else the
        error. Raises TransportError when NATS cannot be reached at all."""
        return self.publish_batch_start(messages, timeout=timeout).result()

    def publish_batch_start(
        self, messages: Sequence[OutgoingMessage], *, timeout: float
    ) -> PublishingBatch:
        """`publish_batch` without waiting: the caller does other work (claims the next
        batch, say) while the acks are on their way, then calls `.result()`."""
        loop = self._ensure_loop()
        future = asyncio.run_coroutine_threadsafe(self._publish(messages, timeout), loop)
        return PublishingBatch(future, timeout + 5)

    def close(self) -> None:
        if self._loop is None or self._pid != os.getpid():
            return
        if self._nc is not None:
            asyncio.run_coroutine_threadsafe(close_bounded(self._nc), self._loop).result(
                _CLOSE_TIMEOUT_SECONDS + 3)
        self._nc = None

    async def _connection(self) -> Client:
        async with self._connecting:
            return await self._connect_once()

    async def _connect_once(self) -> Client:
        if self._nc is not None and not usable(self._nc):
            self._discard(self._nc, "it is closed or no longer reading")
        if self._nc is None:
            nc = await connect(self._url, name=self._name)
            try:
                js = nc.jetstream()
                for spec in self._streams:
                    await ensure_stream(js, spec)
                self._reply_prefix = nc.new_inbox()
                await nc.subscribe(f"{self._reply_prefix}.*", cb=self._on_ack)
            except BaseException:
                await close_bounded(nc)
                raise
            self._settle_all_as_lost()
            self._nc = nc
        return self._nc

    def _settle_all_as_lost(self) -> None:
        # Acks owed on a connection that is gone will not come.
        for batch, index in self._awaiting.values():
            batch.settle(index, TransportError("NATS connection was lost"))
        self._awaiting.clear()

    def _discard(self, nc: Client, why: str) -> None:
        """Throw a connection away; the next batch connects afresh. Closed in the background,
        bounded: a server that hangs must not hold up the batches after this one."""
        if self._nc is nc:
            log.warning("nats publisher: dropping the connection (%s); reconnecting", why)
            self._nc = None
            self._settle_all_as_lost()
        closing = asyncio.ensure_future(close_bounded(nc))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _on_ack(self, msg: Msg) -> None:
        try:
            reply = int(msg.subject.rsplit(".", 1)[1])
        except (IndexError, ValueError):
            return
        waiting = self._awaiting.pop(reply, None)
        if waiting is not None:
            batch, index = waiting
            batch.settle(index, _ack_outcome(msg))

    async def _publish(
        self, messages: Sequence[OutgoingMessage], timeout: float
    ) -> list[BaseException | None]:
        nc = await self._connection()
        if not nc.is_connected:
            raise TransportError("NATS connection is down")
        batch = _AckBatch(len(messages), asyncio.get_running_loop())
        first = self._next_reply
        self._next_reply += len(messages)
        prefix = self._reply_prefix
        answered = False
        try:
            for i, m in enumerate(messages):
                self._awaiting[first + i] = (batch, i)
                await nc.publish(m.subject, m.payload, reply=f"{prefix}.{first + i}",
                                 headers={MSG_ID_HEADER: m.msg_id, EVENT_TYPE_HEADER: m.event_type})
            await nc.flush(timeout=max(timeout, 0.1))
            await asyncio.wait_for(asyncio.shield(batch.done), timeout=timeout)
            answered = True
        except (TimeoutError, nats.errors.Error, OSError) as exc:
            log.debug("publishing a batch of %d: %r", len(messages), exc)
        finally:
            for i in range(len(messages)):  # whatever did not answer in time
                self._awaiting.pop(first + i, None)
            # A missed flush or ack deadline (or the caller giving up): nothing tells this
            # connection from a dead one, and a late PONG may have killed its reader.
            if not answered:
                self._discard(nc, "it missed a flush or ack deadline")
        if nc.is_closed or not nc.is_connected:
            for i in range(len(messages)):
                batch.settle(i, TransportError("NATS connection was lost"))
        return list(batch.results)


# --- consuming -------------------------------------------------------------------------------


@dataclasses.dataclass
class Delivery:
    """One message fetched from a durable pull consumer."""

    _msg: Msg
    stream: str
    stream_seq: int
    num_delivered: int
    subject: str
    data: bytes

    async def ack(self) -> None:
        await self._msg.ack()

    async def nak(self, delay: float | None = None) -> None:
        await self._msg.nak(delay=delay)

    async def term(self) -> None:
        await self._msg.term()

    async def in_progress(self) -> None:
        await self._msg.in_progress()


def _ack_metadata(msg: Msg) -> tuple[str, int, int]:
    """(stream, stream sequence, deliveries) from a JetStream message's ack subject, read
    directly: nats-py's `Msg.metadata` builds three objects and a datetime per message.
    `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`,
    or with a domain and account hash after `$JS.ACK` (12 tokens and more)."""
    tokens = (msg.reply or "").split(".")
    try:
        if len(tokens) == 9:
            return tokens[2], int(tokens[5]), int(tokens[4])
        if len(tokens) >= 12:
            return tokens[4], int(tokens[7]), int(tokens[6])
    except ValueError:
        pass
    meta = msg.metadata  # anything else: nats-py's parser says what it makes of it
    return meta.stream, meta.sequence.stream, meta.num_delivered


# A pull request's end, as a status message on its reply subject: 404 nothing (more) to
# deliver, 408 its `expires` passed, 409 the server ended it (consumer deleted, leader moved).
_STATUS_HEADER = "Status"
_HEARTBEAT = "100"
_ENDED_QUIETLY = ("404", "408")
# How often a fetch that waits checks the connection (nats-py closes it without telling a
# callback subscription), and how long past `expires` it waits for the request's end.
_CLOSED_CHECK_SECONDS = 0.25
_REQUEST_GRACE_SECONDS = 1.0
# How long a connection that let a pull request's end pass may take to answer a ping.
_PROBE_TIMEOUT_SECONDS = 2.0


class PullSource:
    """A durable pull consumer on one stream, filtered to the subjects a service handles.

    Fetches with its own pull requests on a callback subscription: nats-py's `fetch` awaits
    each message with `next_msg`, a task, a timer and a uuid per message, about a sixth of the
    consumer's event-loop samples (py-spy, `manage_all.py bench` consumer scenario). One
    request per fetch, with `no_wait` and `expires`: the server waits up to `expires` for a
    first message, then sends what it has, up to the batch, and unless the batch filled ends
    the request with a status."""

    def __init__(self, nc: Client, stream: str, durable: str, subjects: Sequence[str]):
        self._nc = nc
        self._js = nc.jetstream()
        self.stream = stream
        self.durable = durable
        self.subjects = list(subjects)
        self._next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._inbox = ""
        self._received: list[Msg] = []  # delivered, not yet returned by a fetch
        self._wanted = 0
        self._ended: tuple[str, str] | None = None
        self._waiter: asyncio.Future[None] | None = None

    async def open(self, *, ack_wait: float, max_ack_pending: int) -> None:
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ack_wait,
            # Dead-lettering is ours (recorded in the database first); the server never gives up.
            max_deliver=-1,
            max_ack_pending=max_ack_pending,
            filter_subjects=self.subjects if len(self.subjects) > 1 else None,
            filter_subject=self.subjects[0] if len(self.subjects) == 1 else None,
        )
        try:
            info = await self._js.consumer_info(self.stream, self.durable)
            have = set(info.config.filter_subjects or []) | (
                {info.config.filter_subject} if info.config.filter_subject else set()
            )
            if (have != set(self.subjects) or info.config.ack_wait != ack_wait
                    or info.config.max_ack_pending != max_ack_pending):
                await self._js.add_consumer(self.stream, config)  # same name: an update
        except nats.js.errors.NotFoundError:
            await self._js.add_consumer(self.stream, config)
        self._inbox = self._nc.new_inbox()
        await self._nc.subscribe(self._inbox, cb=self._on_message)

    async def _on_message(self, msg: Msg) -> None:
        headers = msg.headers
        if headers and _STATUS_HEADER in headers:
            status = headers[_STATUS_HEADER]
            if status == _HEARTBEAT:
                return
            self._ended = (status, headers.get("Description", ""))
        else:
            self._received.append(msg)
            if len(self._received) < self._wanted:
                return
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def fetch(self, batch: int, timeout: float) -> list[Delivery]:
        """Up to `batch` messages: at once what is waiting, else what arrives within
        `timeout` (nothing: an empty list). TransportError when the connection is gone or the
        server ended the request for another reason than having nothing to send."""
        if not self._received:
            await self._request(batch, timeout)
        msgs, self._received = self._received[:batch], self._received[batch:]
        out = []
        for msg in msgs:
            stream, stream_seq, num_delivered = _ack_metadata(msg)
            out.append(Delivery(msg, stream=stream, stream_seq=stream_seq,
                                num_delivered=num_delivered, subject=msg.subject, data=msg.data))
        return out

    async def _request(self, batch: int, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        self._wanted, self._ended = batch, None
        self._waiter = waiter = loop.create_future()
        request = {"batch": batch, "expires": int(timeout * 1e9), "no_wait": True}
        try:
            await self._nc.publish(self._next_subject, json.dumps(request).encode(),
                                   reply=self._inbox)
            # Past the request's end, a lost status only costs this one wait.
            deadline = loop.time() + timeout + _REQUEST_GRACE_SECONDS
            while not waiter.done():
                if not usable(self._nc):
                    raise TransportError("the NATS connection closed or stopped reading")
                remaining = deadline - loop.time()
                if remaining <= 0:
                    await self._probe()
                    break
                await asyncio.wait((waiter,), timeout=min(remaining, _CLOSED_CHECK_SECONDS))
        except nats.errors.Error as exc:
            raise TransportError(f"pull request on {self.durable}: {exc}") from exc
        finally:
            self._waiter = None
        if not self._received and self._ended and self._ended[0] not in _ENDED_QUIETLY:
            status, description = self._ended
            raise TransportError(f"the server ended a pull request on {self.durable}: "
                                 f"{status} {description}".rstrip())


    async def _probe(self) -> None:
        """The request's end did not come: a status was lost, or the server hangs. A round
        trip tells which; a connection that misses it is given up (the runner reconnects)."""
        try:
            await self._nc.flush(timeout=_PROBE_TIMEOUT_SECONDS)
        except (TimeoutError, nats.errors.Error, OSError) as exc:
            raise TransportError(f"NATS did not answer a ping in {_PROBE_TIMEOUT_SECONDS} s "
                                 f"({type(exc).__name__})") from exc
        if not usable(self._nc):
            raise TransportError("the NATS connection stopped reading")


async def read_stream(
    js: JetStreamContext, stream: str, subjects: Sequence[str], *, batch: int = 500
) -> Any:
    """Yield every message of a stream from the start, for rebuilding replicas. An ephemeral
    ordered consumer: nothing is left behind on the server."""
    last = (await js.stream_info(stream)).state.last_seq
    if last == 0:
        return
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.ALL,
        filter_subjects=list(subjects),
        inactive_threshold=30.0,
    )
    sub = await js.pull_subscribe("", stream=stream, config=config)
    try:
        while True:
            try:
                msgs = await sub.fetch(batch, timeout=2.0)
            except (TimeoutError, nats.errors.TimeoutError):
                return
            for msg in msgs:
                yield msg.metadata.sequence.stream, msg.subject, msg.data
            if msgs and msgs[-1].metadata.sequence.stream >= last:
                return
            if msgs and msgs[-1].metadata.num_pending == 0:
                return
    finally:
        await sub.unsubscribe()
