"""Writing events into the outbox, inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connections, transaction
from django.utils import timezone

from ..schemas import Envelope, EventData, get_event_type, subject_for
from .kick import kick_relay_on_commit
from .models import OutboxEvent


@dataclass(frozen=True)
class PendingEvent:
    event_type: str
    aggregate_id: str
    version: int
    data: EventData


def record_events(events: Sequence[PendingEvent], *, using: str = "default") -> list[OutboxEvent]:
    """Append events to the outbox. Must run inside the transaction of the change itself, so the
    change and its event commit or roll back together."""
    if not events:
        return []
    if not connections[using].in_atomic_block:
        raise RuntimeError(
            "events must be recorded inside transaction.atomic(), together with the change"
        )
    now = timezone.now()
    rows = []
    for pending in events:
        event_type = get_event_type(pending.event_type)
        if not isinstance(pending.data, event_type.data_class):
            raise TypeError(
                f"{pending.event_type} carries {event_type.data_class.__name__}, "
                f"not {type(pending.data).__name__}"
            )
        event_id = uuid.uuid4()
        envelope = Envelope(
            id=event_id,
            type=event_type.name,
            schema_version=event_type.schema_version,
            aggregate_id=pending.aggregate_id,
            version=pending.version,
            occurred_at=now,
            data=pending.data.to_dict(),
        )
        rows.append(
            OutboxEvent(
                event_id=event_id,
                event_type=event_type.name,
                aggregate_id=pending.aggregate_id,
                aggregate_version=pending.version,
                subject=subject_for(event_type.aggregate, pending.aggregate_id),
                payload=envelope.to_json(),
                created_at=now,
                next_attempt_at=now,
            )
        )
    OutboxEvent.objects.using(using).bulk_create(rows, batch_size=500)
    kick_relay_on_commit(using=using)
    return rows


def record_event(
    event_type: str, *, aggregate_id: str, version: int, data: EventData, using: str = "default"
) -> OutboxEvent:
    return record_events([PendingEvent(event_type, aggregate_id, version, data)], using=using)[0]


__all__ = ["PendingEvent", "record_event", "record_events", "transaction"]
