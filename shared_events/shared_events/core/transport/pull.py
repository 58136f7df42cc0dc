"""Consuming: the durable pull consumer the runner fetches from (`PullSource`), and a
named one that reads a stream whole for a rebuild (`read_stream`)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from .connection import TransportError, usable


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

    Fetches with its own pull requests on a callback subscription: nats-py's `fetch` spends a
    task, a timer and a uuid on each message. One request per fetch, with `no_wait` and
    `expires`: the server waits up to `expires` for a first message, then sends what it has,
    up to the batch, and unless the batch filled ends the request with a status."""

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
            if (
                have != set(self.subjects)
                or info.config.ack_wait != ack_wait
                or info.config.max_ack_pending != max_ack_pending
            ):
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
            out.append(
                Delivery(
                    msg,
                    stream=stream,
                    stream_seq=stream_seq,
                    num_delivered=num_delivered,
                    subject=msg.subject,
                    data=msg.data,
                )
            )
        return out

    async def _request(self, batch: int, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        self._wanted, self._ended = batch, None
        self._waiter = waiter = loop.create_future()
        request = {"batch": batch, "expires": int(timeout * 1e9), "no_wait": True}
        try:
            await self._nc.publish(
                self._next_subject, json.dumps(request).encode(), reply=self._inbox
            )
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
            raise TransportError(
                f"the server ended a pull request on {self.durable}: "
                f"{status} {description}".rstrip()
            )

    async def _probe(self) -> None:
        """The request's end did not come: a status was lost, or the server hangs. A round
        trip tells which; a connection that misses it is given up (the runner reconnects)."""
        try:
            # nats-py annotates the timeout int; it is seconds, fractions too.
            await self._nc.flush(timeout=_PROBE_TIMEOUT_SECONDS)  # type: ignore[arg-type]
        except (TimeoutError, nats.errors.Error, OSError) as exc:
            raise TransportError(
                f"NATS did not answer a ping in {_PROBE_TIMEOUT_SECONDS} s ({type(exc).__name__})"
            ) from exc
        if not usable(self._nc):
            raise TransportError("the NATS connection stopped reading")


async def read_stream(
    js: JetStreamContext, stream: str, subjects: Sequence[str], *, name: str, batch: int = 500
) -> Any:
    """Yield every message of a stream from the start, for rebuilding replicas, through a
    consumer of this name (the reader's NATS user may use only consumers it can name), made
    afresh and deleted after: nothing is left behind on the server."""
    last = (await js.stream_info(stream)).state.last_seq
    if last == 0:
        return
    config = ConsumerConfig(
        name=name,
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.ALL,
        filter_subjects=list(subjects),
        inactive_threshold=30.0,
    )
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.delete_consumer(stream, name)  # a replay that died: its position is not ours
    await js.add_consumer(stream, config)
    sub = await js.pull_subscribe_bind(consumer=name, stream=stream)
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
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            await js.delete_consumer(stream, name)
