"""The long-running consumer: one durable pull consumer per followed stream (per partition of it
that this process owns, `partitions.py`), batches applied in a single database thread, acks
only after commit, and a clean stop on SIGTERM.

Pipelined: while the database thread applies one batch, the event loop fetches and decodes
the next (and acks the one before), so NATS round trips, parsing and database work overlap.
Batches still apply one after another in fetch order, on one connection, and a message is
acked only after the transaction that applied it committed.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import gc
import logging
import threading
import time
from collections.abc import Sequence

from django.db import close_old_connections

from .. import conf
from ..db_connections import on_fresh_connection
from ..heartbeat import Heartbeat
from ..partitions import ConsumerSlot, consumer_slots, stream_partitions, this_process_partitions
from ..transport.connection import Client, TransportError, close_bounded, connect
from ..transport.pull import Delivery, PullSource
from ..transport.streams import ensure_stream, stream_exists, stream_spec
from .apply import Action, IncomingMessage, Outcome, apply_batch, decoded
from .inbox import inbox_connection
from .registry import subscriptions

log = logging.getLogger(__name__)


_CONNECTION_CHECK_SECONDS = 1.0
_STREAM_WAIT_SECONDS = 1.0
_db_state = threading.local()


def _apply_in_db_thread(messages: list[IncomingMessage]) -> list[Outcome]:
    # A long-lived process: drop a connection the database closed or that outlived
    # CONN_MAX_AGE. At most once a second (with CONN_HEALTH_CHECKS each check is a round trip
    # to the database), and at once after a failure.
    now = time.monotonic()
    if now - getattr(_db_state, "checked", 0.0) >= _CONNECTION_CHECK_SECONDS:
        close_old_connections()
        _db_state.checked = now
    try:
        # A lost connection: applied again at once on a new one rather than redelivered
        # later (the inbox makes a batch that did commit a no-op the second time).
        return on_fresh_connection(lambda: apply_batch(messages), what="applying a batch")
    except BaseException:
        close_old_connections()
        _db_state.checked = 0.0
        raise


class ConsumerRunner:
    def __init__(self, *, nats_url: str | None = None, service: str | None = None) -> None:
        self.nats_url = nats_url or conf.get("NATS_URL")
        self.service = service or conf.service_name()
        self.batch_size = conf.get("CONSUMER_BATCH_SIZE")
        self.fetch_timeout = conf.get("CONSUMER_FETCH_TIMEOUT_SECONDS")
        self.ack_wait = conf.get("CONSUMER_ACK_WAIT_SECONDS")
        # One thread for all database work: batches apply in order, on one connection.
        self._db = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="db")
        self.applied = 0
        self.heartbeat = Heartbeat.from_environment()

    async def run(self, stop: asyncio.Event) -> None:
        beating = asyncio.create_task(self._beat_while_responsive(stop))
        try:
            await self._consume(stop)
        finally:
            beating.cancel()

    async def _beat_while_responsive(self, stop: asyncio.Event) -> None:
        """The liveness heartbeat (shared_events.core.heartbeat): beats while the event loop
        runs and the database thread takes work, whether events come or not and whether NATS
        answers or not (the reconnect loop retries meanwhile). A no-op queued behind the
        batches in the database thread: one stuck there (a lock that never comes, a hung
        connection) stops the beats, and the probe restarts the pod."""
        if not self.heartbeat.enabled:
            return
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            await loop.run_in_executor(self._db, _nothing)
            self.heartbeat.beat()
            await _sleep_or_stop(stop, self.heartbeat.interval)

    async def _consume(self, stop: asyncio.Event) -> None:
        plan = subscriptions()
        _freeze_the_boot_heap()
        if not plan:
            log.info("no event handlers in this service; nothing to consume")
            await stop.wait()
            return
        slots = self._slots(plan)
        log.info("consuming %s", ", ".join(f"{s.durable} {s.subjects}" for s in slots))
        # The database connection opens while NATS connects and the durables open, not in
        # front of the first batch (a catch-up's first batch waited for it).
        asyncio.get_running_loop().run_in_executor(self._db, _connect_database)
        failures = 0
        while not stop.is_set():
            try:
                nc = await connect(self.nats_url, name=f"{self.service}-consumer")
            except TransportError as exc:
                failures += 1
                log.warning("%s; retrying", exc)
                await _sleep_or_stop(stop, conf.backoff(failures, base=0.5, cap=5.0))
                continue
            try:
                js = nc.jetstream()
                # Its own streams it makes; another producer's only that producer may (its NATS
                # user's permissions): each stream is followed once it exists, the others
                # meanwhile (a producer that never started holds up only its own stream).
                for producer in conf.get("PRODUCES"):
                    await ensure_stream(js, stream_spec(producer))
                failures = 0
                log.info("consumer ready")
                # A TaskGroup: when one stream's pump fails (connection lost), the others stop
                # too, and the whole set reconnects together.
                async with asyncio.TaskGroup() as group:
                    for slot in slots:
                        group.create_task(self._follow(nc, slot, stop))
            except* Exception as exc_group:
                first = exc_group.exceptions[0]
                failures += 1
                log.warning("consumer connection lost (%s); reconnecting", first)
                await _sleep_or_stop(stop, conf.backoff(failures, base=0.5, cap=5.0))
            finally:
                # Thrown away, never waited on: a server that hangs would hold the reconnect.
                await close_bounded(nc)
        self._db.shutdown(wait=True)
        log.info("consumer stopped after applying %d messages", self.applied)

    def _slots(self, plan: dict[str, list[str]]) -> list[ConsumerSlot]:
        """The durable consumers of the partitions this process owns (`partitions.py`)."""
        return consumer_slots(
            self.service, plan, partitions=stream_partitions(), owned=this_process_partitions()
        )

    async def _follow(self, nc: Client, slot: ConsumerSlot, stop: asyncio.Event) -> None:
        """Wait for the slot's stream to exist, then open its durable consumer and pump it
        until `stop`."""
        js = nc.jetstream()
        waiting_said = False
        while not await stream_exists(js, slot.stream):
            if not waiting_said:
                log.info("waiting for stream %s (its producer makes it)", slot.stream)
                waiting_said = True
            await _sleep_or_stop(stop, _STREAM_WAIT_SECONDS)
            if stop.is_set():
                return
        source = PullSource(nc, slot.stream, slot.durable, slot.subjects)
        await source.open(ack_wait=self.ack_wait, max_ack_pending=self.batch_size * 4)
        await self._pump(source, stop)

    async def _pump(self, source: PullSource, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        # Batches handed to the database thread, oldest first, with the futures of their
        # outcomes; at most two (one applying, one waiting), so fetching runs ahead by one.
        applying: collections.deque[tuple[list[Delivery], asyncio.Future[list[Outcome]]]] = (
            collections.deque()
        )
        fetching: asyncio.Task[list[Delivery]] | None = None
        try:
            while True:
                if fetching is None and not stop.is_set() and len(applying) < 2:
                    fetching = asyncio.ensure_future(
                        source.fetch(self.batch_size, self.fetch_timeout)
                    )
                waits: list[asyncio.Future] = [f for f in (fetching,) if f is not None]
                if applying:
                    waits.append(applying[0][1])
                if not waits:
                    return  # stopped, and every batch applied and settled
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                while applying and applying[0][1].done():
                    deliveries, outcome = applying.popleft()
                    await self._settle_batch(deliveries, outcome, stop)
                if fetching is not None and fetching.done():
                    deliveries = fetching.result()  # a lost connection raises here
                    fetching = None
                    if deliveries:
                        # Decoded here, while the database thread applies the batch before
                        # (waiting on the database most of the time): parsing overlaps it.
                        messages = [
                            IncomingMessage(
                                d.stream,
                                d.stream_seq,
                                d.subject,
                                d.data,
                                d.num_delivered,
                                decoded(d.data),
                            )
                            for d in deliveries
                        ]
                        # Not cancelled by a stop: the batch commits and is acked before we exit.
                        applying.append(
                            (
                                deliveries,
                                loop.run_in_executor(self._db, _apply_in_db_thread, messages),
                            )
                        )
        finally:
            if fetching is not None:
                fetching.cancel()
            # Leaving on an error: let the batches in the database thread finish (their
            # messages are redelivered if they cannot be acked now; the inbox drops them).
            for deliveries, outcome in applying:
                try:
                    await self._settle_batch(deliveries, outcome, stop)
                except Exception as exc:
                    log.warning(
                        "could not settle a batch of %d (%s); it will be redelivered",
                        len(deliveries),
                        exc,
                    )

    async def _settle_batch(
        self,
        deliveries: list[Delivery],
        outcome: asyncio.Future[list[Outcome]],
        stop: asyncio.Event,
    ) -> None:
        try:
            outcomes = await outcome
        except Exception as exc:
            log.warning(
                "could not apply a batch of %d (%s); it will be redelivered", len(deliveries), exc
            )
            await _settle(deliveries, [Outcome(Action.NAK, delay=1.0)] * len(deliveries))
            await _sleep_or_stop(stop, 1.0)
            return
        await _settle(deliveries, outcomes)
        self.applied += sum(1 for o in outcomes if o.action is Action.ACK)


async def _settle(deliveries: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
    for delivery, outcome in zip(deliveries, outcomes, strict=True):
        if outcome.action is Action.ACK:
            await delivery.ack()
        elif outcome.action is Action.TERM:
            await delivery.term()
        else:
            await delivery.nak(delay=outcome.delay)


def _nothing() -> None:
    pass


def _connect_database() -> None:
    """In the database thread: its connection, opened now; a failure only logs (the first
    batch tries again, and says why if it cannot)."""
    try:
        inbox_connection().ensure_connection()
        _db_state.checked = time.monotonic()
    except Exception as exc:
        log.warning("could not connect to the database yet (%s)", exc)


_boot_heap_frozen = False


def _freeze_the_boot_heap() -> None:
    """Once per process, with the handlers imported: what the boot made (Django, the
    handlers, their modules) lives as long as the process, so the collector's full passes,
    which a backlog's allocations set off every few thousand events, need not walk it again
    each time (README, Performance)."""
    global _boot_heap_frozen
    if not _boot_heap_frozen:
        gc.freeze()
        _boot_heap_frozen = True


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
