"""What an operator needs to see of the event pipeline of one service: the outbox backlog and
the age of its oldest unpublished event, the lag of each durable consumer, and dead letters."""

from __future__ import annotations

import asyncio
from typing import Any

from django.db.models import Count, Min
from django.utils import timezone

from . import conf
from .consumer.models import DeadLetter
from .consumer.registry import subscriptions
from .consumer.runner import durable_name
from .outbox.models import OutboxEvent
from .transport import TransportError, connect


def outbox_status() -> dict[str, Any]:
    pending = OutboxEvent.objects.filter(published_at__isnull=True).aggregate(
        count=Count("seq"), oldest=Min("created_at"))
    failing = OutboxEvent.objects.filter(published_at__isnull=True, attempts__gt=0).count()
    oldest = pending["oldest"]
    return {
        "pending": pending["count"],
        "failing": failing,
        "oldest_pending_age_seconds": round((timezone.now() - oldest).total_seconds(), 3)
        if oldest else None,
    }


def dead_letter_status() -> dict[str, int]:
    return {"dead": DeadLetter.objects.filter(status=DeadLetter.Status.DEAD).count()}


async def _consumer_lag() -> dict[str, Any]:
    plan = subscriptions()
    if not plan:
        return {}
    try:
        nc = await connect(conf.get("NATS_URL"), name=f"{conf.service_name()}-status")
    except TransportError as exc:
        return {stream: {"error": str(exc)} for stream in plan}
    try:
        js = nc.jetstream()
        lag: dict[str, Any] = {}
        for stream in plan:
            try:
                info = await js.consumer_info(stream, durable_name(conf.service_name(), stream))
                lag[stream] = {"pending": info.num_pending, "unacked": info.num_ack_pending,
                               "redelivered": info.num_redelivered}
            except Exception as exc:  # not created yet: the consumer has never started
                lag[stream] = {"error": f"{type(exc).__name__}: {exc}"}
        return lag
    finally:
        await nc.close()


def events_status() -> dict[str, Any]:
    return {
        "service": conf.service_name(),
        "outbox": outbox_status(),
        "consumers": asyncio.run(_consumer_lag()),
        "dead_letters": dead_letter_status(),
    }
