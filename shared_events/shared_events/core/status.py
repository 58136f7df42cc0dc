"""What an operator needs to see of the event pipeline of one service: the outbox backlog and
the age of its oldest unpublished event, the lag of each durable consumer and whether it
shrinks, dead letters, whether NATS answers; and the verdict, healthy or the problems found."""

from __future__ import annotations

import asyncio
from typing import Any

from django.db.models import Count, Min, Q
from django.utils import timezone

from . import conf
from .consumer.models import DeadLetter
from .consumer.registry import subscriptions
from .outbox.models import OutboxEvent
from .partitions import ConsumerSlot, every_slot
from .transport.connection import TransportError, close_bounded, connect

# How long NATS may take to answer a ping before status says it does not answer.
_PING_TIMEOUT_SECONDS = 2.0


def outbox_status() -> dict[str, Any]:
    unpublished = OutboxEvent.objects.filter(published_at__isnull=True)
    backlog = unpublished.aggregate(
        pending=Count("seq"),
        failing=Count("seq", filter=Q(attempts__gt=0)),
        oldest=Min("created_at"),
    )
    failing = unpublished.filter(attempts__gt=0)
    oldest = backlog["oldest"]
    status: dict[str, Any] = {
        "pending": backlog["pending"],
        "failing": backlog["failing"],
        "oldest_pending_age_seconds": round((timezone.now() - oldest).total_seconds(), 3)
        if oldest
        else None,
    }
    if status["failing"]:
        status["last_error"] = (
            failing.exclude(last_error="")
            .order_by("-seq")
            .values_list("last_error", flat=True)
            .first()
            or ""
        )[:300]
    return status


def dead_letter_status() -> dict[str, int]:
    return {"dead": DeadLetter.objects.filter(status=DeadLetter.Status.DEAD).count()}


async def _lag_sample(js: Any, slot: ConsumerSlot) -> dict[str, Any]:
    try:
        info = await js.consumer_info(slot.stream, slot.durable)
    except Exception as exc:  # not created yet: the consumer has never started
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {
        "pending": info.num_pending,
        "unacked": info.num_ack_pending,
        "redelivered": info.num_redelivered,
        "ack_floor": info.ack_floor.stream_seq if info.ack_floor else 0,
    }


def _has_work(sample: dict[str, Any]) -> bool:
    return "error" not in sample and sample["pending"] + sample["unacked"] > 0


def _progress(first: dict[str, Any], second: dict[str, Any]) -> bool | None:
    """Whether a consumer with something to do got on with it between two samples: its ack
    floor moved or its lag shrank. None when there was nothing to do (or no sample)."""
    if not _has_work(first) or "error" in second:
        return None
    return (
        second["ack_floor"] > first["ack_floor"]
        or second["pending"] + second["unacked"] < first["pending"] + first["unacked"]
    )


async def _nats_and_consumers(sample_seconds: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """Whether NATS answers a ping, and per durable consumer of this service (one per followed
    stream, and one per partition of it: every replica's) its lag, sampled twice
    `sample_seconds` apart when it has something to do."""
    slots = every_slot(conf.service_name(), subscriptions())
    plan = [slot.label for slot in slots]
    try:
        nc = await connect(conf.get("NATS_URL"), name=f"{conf.service_name()}-status")
    except TransportError as exc:
        return {"answers": False, "error": str(exc)}, {s: {"error": str(exc)} for s in plan}
    try:
        try:
            # nats-py annotates the timeout int; it is seconds, fractions too.
            await nc.flush(timeout=_PING_TIMEOUT_SECONDS)  # type: ignore[arg-type]
        except Exception as exc:  # a server that accepted the connection, then hung
            error = f"NATS did not answer a ping in {_PING_TIMEOUT_SECONDS} s ({exc!r})"
            return {"answers": False, "error": error}, {s: {"error": error} for s in plan}
        js = nc.jetstream()
        first = {slot.label: await _lag_sample(js, slot) for slot in slots}
        if any(_has_work(sample) for sample in first.values()):
            await asyncio.sleep(sample_seconds)
            second = {slot.label: await _lag_sample(js, slot) for slot in slots}
        else:
            second = first
        lag: dict[str, Any] = {}
        for stream in plan:
            lag[stream] = dict(second[stream])
            if "error" not in second[stream]:
                lag[stream]["progressing"] = _progress(first[stream], second[stream])
        return {"answers": True}, lag
    finally:
        await close_bounded(nc)


def problems(status: dict[str, Any], *, stale_after: float, sample_seconds: float) -> list[str]:
    """Why the pipeline of one service is not healthy, as readable lines ([] when it is)."""
    found = []
    outbox = status["outbox"]
    if outbox["failing"]:
        found.append(
            f"outbox: {outbox['failing']} events failing to publish"
            + (f" ({outbox['last_error']})" if outbox.get("last_error") else "")
        )
    age = outbox["oldest_pending_age_seconds"]
    if age is not None and age > stale_after:
        found.append(
            f"outbox: oldest unpublished event {age:.1f} s old (more than {stale_after:g} s)"
        )
    if not status["nats"]["answers"]:
        found.append(f"nats: {status['nats'].get('error', 'does not answer')}")
    for stream, lag in status["consumers"].items():
        if "error" in lag:
            if status["nats"]["answers"]:  # else already said
                found.append(f"consumer {stream}: {lag['error']}")
        elif lag.get("progressing") is False:
            found.append(
                f"consumer {stream}: lag {lag['pending'] + lag['unacked']} not "
                f"shrinking (nothing acknowledged in {sample_seconds:g} s)"
            )
    if status["dead_letters"]["dead"]:
        found.append(f"dead letters: {status['dead_letters']['dead']} (see the admin)")
    return found


def events_status(*, sample_seconds: float | None = None) -> dict[str, Any]:
    if sample_seconds is None:
        sample_seconds = conf.get("STATUS_LAG_SAMPLE_SECONDS")
    nats, consumers = asyncio.run(_nats_and_consumers(sample_seconds))
    status: dict[str, Any] = {
        "service": conf.service_name(),
        "outbox": outbox_status(),
        "consumers": consumers,
        "dead_letters": dead_letter_status(),
        "nats": nats,
    }
    status["problems"] = problems(
        status, stale_after=conf.get("OUTBOX_STALE_AFTER_SECONDS"), sample_seconds=sample_seconds
    )
    status["healthy"] = not status["problems"]
    return status
