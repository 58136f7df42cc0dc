"""Publishing from synchronous code (the Celery relay): one connection per process, on a
private event-loop thread, with a batch's acks in flight together."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import json
import logging
import os
import threading
from collections.abc import Sequence

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg

from .connection import CLOSE_TIMEOUT_SECONDS, TransportError, close_bounded, connect, usable
from .streams import StreamSpec, ensure_stream

log = logging.getLogger(__name__)

MSG_ID_HEADER = "Nats-Msg-Id"
EVENT_TYPE_HEADER = "Event-Type"
REQUEST_ID_HEADER = "X-Request-ID"  # the request that caused the event, where one did


@dataclasses.dataclass(frozen=True)
class OutgoingMessage:
    subject: str
    payload: bytes
    msg_id: str
    event_type: str
    request_id: str = ""


class PublishingBatch:
    """A batch handed to the publisher's loop (`Publisher.publish_batch_start`)."""

    def __init__(self, future: concurrent.futures.Future, timeout: float) -> None:
        self._future, self._timeout = future, timeout

    def result(self) -> list[BaseException | None]:
        """Per message, None when JetStream stored it (or already had it: a duplicate id is an
        ack too), else the error. Raises TransportError when NATS cannot be reached at all."""
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
        return TransportError(
            f"JetStream did not answer (status {status or 'unknown'}): is the stream there?"
        )
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

    def publish_batch_start(
        self, messages: Sequence[OutgoingMessage], *, timeout: float
    ) -> PublishingBatch:
        """Publish all messages with their acks in flight together, without waiting: the
        caller does other work (claims the next batch, say) while the acks are on their way,
        then calls `.result()`."""
        loop = self._ensure_loop()
        future = asyncio.run_coroutine_threadsafe(self._publish(messages, timeout), loop)
        return PublishingBatch(future, timeout + 5)

    def close(self) -> None:
        if self._loop is None or self._pid != os.getpid():
            return
        if self._nc is not None:
            asyncio.run_coroutine_threadsafe(close_bounded(self._nc), self._loop).result(
                CLOSE_TIMEOUT_SECONDS + 3
            )
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
                headers = {MSG_ID_HEADER: m.msg_id, EVENT_TYPE_HEADER: m.event_type}
                if m.request_id:
                    headers[REQUEST_ID_HEADER] = m.request_id
                await nc.publish(
                    m.subject, m.payload, reply=f"{prefix}.{first + i}", headers=headers
                )
            # nats-py annotates the timeout int; it is seconds, fractions too.
            await nc.flush(timeout=max(timeout, 0.1))  # type: ignore[arg-type]
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
