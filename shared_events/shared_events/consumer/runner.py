"""The long-running consumer: one durable pull consumer per followed stream, batches applied in
a single database thread, acks only after commit, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Sequence

from django.db import close_old_connections

from .. import conf
from ..streams import stream_spec
from ..transport import Delivery, PullSource, TransportError, connect, ensure_stream
from .apply import Action, IncomingMessage, Outcome, apply_batch
from .registry import subscriptions

log = logging.getLogger(__name__)


def durable_name(service: str, stream: str) -> str:
    return f"{service}-{stream.lower()}"


def _apply_in_db_thread(messages: list[IncomingMessage]) -> list[Outcome]:
    # A long-lived process: drop a connection the database closed or that outlived CONN_MAX_AGE.
    close_old_connections()
    try:
        return apply_batch(messages)
    finally:
        close_old_connections()


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

    async def run(self, stop: asyncio.Event) -> None:
        plan = subscriptions()
        if not plan:
            log.info("no event handlers in this service; nothing to consume")
            await stop.wait()
            return
        log.info("consuming %s", ", ".join(f"{s} {subj}" for s, subj in plan.items()))
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
                sources = []
                for stream, subjects in plan.items():
                    await ensure_stream(js, stream_spec(stream.lower()))
                    source = PullSource(js, stream, durable_name(self.service, stream), subjects)
                    await source.open(ack_wait=self.ack_wait, max_ack_pending=self.batch_size * 4)
                    sources.append(source)
                failures = 0
                log.info("consumer ready")
                # A TaskGroup: when one stream's pump fails (connection lost), the others stop
                # too, and the whole set reconnects together.
                async with asyncio.TaskGroup() as group:
                    for source in sources:
                        group.create_task(self._pump(source, stop))
            except* Exception as exc_group:
                exc = exc_group.exceptions[0]
                failures += 1
                log.warning("consumer connection lost (%s); reconnecting", exc)
                await _sleep_or_stop(stop, conf.backoff(failures, base=0.5, cap=5.0))
            finally:
                try:
                    await asyncio.wait_for(nc.close(), 5)
                except Exception:
                    pass
        self._db.shutdown(wait=True)
        log.info("consumer stopped after applying %d messages", self.applied)

    async def _pump(self, source: PullSource, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            deliveries = await source.fetch(self.batch_size, self.fetch_timeout)
            if not deliveries:
                continue
            messages = [
                IncomingMessage(d.stream, d.stream_seq, d.subject, d.data, d.num_delivered)
                for d in deliveries
            ]
            # Not cancelled by a stop: the batch commits and is acked before we exit.
            try:
                outcomes = await loop.run_in_executor(self._db, _apply_in_db_thread, messages)
            except Exception as exc:
                log.warning("could not apply a batch of %d (%s); it will be redelivered",
                            len(messages), exc)
                await _settle(deliveries, [Outcome(Action.NAK, delay=1.0)] * len(deliveries))
                await _sleep_or_stop(stop, 1.0)
                continue
            await _settle(deliveries, outcomes)
            self.applied += sum(1 for o in outcomes if o.action is Action.ACK)


async def _settle(deliveries: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
    for delivery, outcome in zip(deliveries, outcomes):
        if outcome.action is Action.ACK:
            await delivery.ack()
        elif outcome.action is Action.TERM:
            await delivery.term()
        else:
            await delivery.nak(delay=outcome.delay)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except asyncio.TimeoutError:
        pass
