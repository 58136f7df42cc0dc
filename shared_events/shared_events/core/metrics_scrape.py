"""The pipeline's gauges that are read, not recorded: the outbox backlog and the dead letters
from the database, each followed stream's consumer lag from JetStream, and whether JetStream
answers. Set when scraped, by one process per service (the beat, `metrics_port`), so no hot
path pays for them and no two processes report them twice."""

from __future__ import annotations

import asyncio

from . import conf, metrics
from .consumer.registry import subscriptions
from .partitions import every_slot
from .status import dead_letter_status, outbox_status
from .transport.connection import close_bounded, connect

# A scrape must answer within Prometheus' timeout (10 s by default) even when NATS hangs.
_JETSTREAM_TIMEOUT_SECONDS = 3.0


def refresh_pipeline_gauges() -> None:
    """Set the outbox, dead-letter, lag and jetstream_up gauges of this service."""
    service = conf.service_name()
    outbox = outbox_status()  # what `events_status` reads, the same way
    metrics.OUTBOX_PENDING.labels(service).set(outbox["pending"])
    metrics.OUTBOX_FAILING.labels(service).set(outbox["failing"])
    age = outbox["oldest_pending_age_seconds"] or 0.0
    metrics.OUTBOX_OLDEST_PENDING_AGE.labels(service).set(max(0.0, age))
    metrics.CONSUMER_DEAD_LETTER_ROWS.labels(service).set(dead_letter_status()["dead"])
    refresh_jetstream_gauges(service)


def refresh_jetstream_gauges(service: str) -> None:
    streams = list(subscriptions())
    try:
        lag = asyncio.run(
            asyncio.wait_for(_consumer_lag(service, streams), _JETSTREAM_TIMEOUT_SECONDS)
        )
    except Exception:  # unreachable, hung, or refusing: say so, and show no stale lag
        metrics.JETSTREAM_UP.labels(service).set(0)
        for stream in streams:
            _forget_lag(service, stream)
        return
    metrics.JETSTREAM_UP.labels(service).set(1)
    for stream in streams:
        if stream in lag:
            metrics.CONSUMER_LAG.labels(service, stream.lower()).set(lag[stream])
        else:  # the durable consumer was never created: the consumer has not started yet
            _forget_lag(service, stream)


def _forget_lag(service: str, stream: str) -> None:
    try:
        metrics.CONSUMER_LAG.remove(service, stream.lower())
    except KeyError:
        pass


async def _consumer_lag(service: str, streams: list[str]) -> dict[str, int]:
    """Per followed stream, the messages its durable consumers (one, or one per partition and
    the unpartitioned one, `partitions.py`) have not been delivered yet."""
    plan = {stream: subjects for stream, subjects in subscriptions().items() if stream in streams}
    slots = every_slot(service, plan)
    nc = await connect(conf.get("NATS_URL"), name=f"{service}-metrics")
    try:
        js = nc.jetstream()
        lag: dict[str, int] = {}
        for slot in slots:
            try:
                info = await js.consumer_info(slot.stream, slot.durable)
            except Exception as exc:
                if getattr(exc, "code", None) == 404:  # nats-py's NotFoundError
                    continue
                raise
            lag[slot.stream] = lag.get(slot.stream, 0) + info.num_pending
        return lag
    finally:
        await close_bounded(nc)
