"""Writing events into the outbox, inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections, transaction
from django.utils import timezone

from ..log_context import REQUEST_ID_HEADER, envelope_headers
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
    rows = outbox_rows(events)
    _insert(rows, using=using)
    kick_relay_on_commit(using=using)
    return rows


def outbox_rows(events: Sequence[PendingEvent]) -> list[OutboxEvent]:
    """The outbox rows of `events`, unsaved: each with its new event id and its envelope."""
    now = timezone.now()
    headers = envelope_headers()  # the request in play, carried by each event it causes
    request_id = headers[REQUEST_ID_HEADER] if headers else ""
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
            headers=headers,
        )
        rows.append(
            OutboxEvent(
                event_id=event_id,
                event_type=event_type.name,
                aggregate_id=pending.aggregate_id,
                aggregate_version=pending.version,
                subject=subject_for(event_type.aggregate, pending.aggregate_id),
                payload=envelope.to_json(),
                request_id=request_id,
                created_at=now,
                next_attempt_at=now,
            )
        )
    return rows


_INSERT_CHUNK = 200  # rows per statement: 14 parameters each, inside SQLite's limit


def _insert(rows: list[OutboxEvent], *, using: str) -> None:
    """Django's bulk_create in one multi-row INSERT per chunk, without its per-object and
    per-field machinery, which an epoch accrual (one event per account) paid for every row."""
    connection = connections[using]
    sql, fields, row = _insert_head(connection)
    pk = connection.ops.quote_name(OutboxEvent._meta.pk.column)
    prepared: dict[tuple[str, object], Any] = {}

    def prepare(field: Any, value: object) -> Any:
        # Every row of a call shares its timestamps: prepare each once.
        if not isinstance(value, datetime):
            return field.get_db_prep_save(value, connection)
        key = (field.attname, value)
        if key not in prepared:
            prepared[key] = field.get_db_prep_save(value, connection)
        return prepared[key]

    with connection.cursor() as cursor:
        for start in range(0, len(rows), _INSERT_CHUNK):
            chunk = rows[start : start + _INSERT_CHUNK]
            params = [prepare(f, getattr(r, f.attname)) for r in chunk for f in fields]
            cursor.execute(sql + ", ".join([row] * len(chunk)) + f" RETURNING {pk}", params)
            for obj, (seq,) in zip(chunk, cursor.fetchall(), strict=True):
                obj.pk = seq
                obj._state.adding, obj._state.db = False, using


def _insert_head(connection: Any) -> tuple[str, list[Any], str]:
    fields = [f for f in OutboxEvent._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(OutboxEvent._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in fields)}) VALUES "
    )
    return sql, fields, "(" + ", ".join(["%s"] * len(fields)) + ")"


def outbox_insert_statement(
    events: Sequence[PendingEvent], *, using: str = "default"
) -> tuple[str, list[Any]]:
    """One INSERT of the outbox rows of `events`, for a write path in raw SQL that runs its
    statements together with its own COMMIT (voting's ballots): the caller runs it inside the
    change's transaction. No relay kick: the beat sweep (about 1 s) publishes the rows."""
    connection = connections[using]
    rows = outbox_rows(events)
    sql, fields, row = _insert_head(connection)
    params = [f.get_db_prep_save(getattr(r, f.attname), connection) for r in rows for f in fields]
    return sql + ", ".join([row] * len(rows)), params


__all__ = [
    "PendingEvent",
    "outbox_insert_statement",
    "outbox_rows",
    "record_events",
    "transaction",
]
