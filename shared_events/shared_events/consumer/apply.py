"""Applying fetched messages to the database: one transaction per batch, a savepoint per message.

Each message is applied together with its inbox row (a duplicate id has no effect) by a handler
whose upsert is guarded by the aggregate version (an older state has no effect). Nothing is
acked before the transaction commits.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import traceback
import uuid
from collections.abc import Sequence
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .. import conf
from ..schemas import Event, EventDecodeError, decode
from .models import DeadLetter, ProcessedEvent
from .registry import handler_for

log = logging.getLogger(__name__)


class Action(enum.Enum):
    ACK = "ack"
    NAK = "nak"  # retry later, after `delay`
    TERM = "term"  # dead-lettered: never deliver again


@dataclasses.dataclass(frozen=True)
class IncomingMessage:
    stream: str
    stream_seq: int
    subject: str
    data: bytes
    num_delivered: int = 1


@dataclasses.dataclass(frozen=True)
class Outcome:
    action: Action
    delay: float = 0.0
    note: str = ""


def apply_batch(messages: Sequence[IncomingMessage]) -> list[Outcome]:
    max_deliveries = conf.get("CONSUMER_MAX_DELIVERIES")
    decoded: list[Event | EventDecodeError] = []
    for msg in messages:
        try:
            decoded.append(decode(msg.data))
        except EventDecodeError as exc:
            decoded.append(exc)
    ids = [e.envelope.id for e in decoded if isinstance(e, Event)]
    outcomes: list[Outcome] = []
    with transaction.atomic():
        seen = set(ProcessedEvent.objects.filter(event_id__in=ids).values_list("event_id",
                                                                                flat=True))
        applied: list[ProcessedEvent] = []
        for msg, event in zip(messages, decoded):
            if isinstance(event, EventDecodeError):
                # Retrying cannot make unreadable bytes readable: dead-letter at once.
                _dead_letter(msg, None, f"undecodable: {event}")
                outcomes.append(Outcome(Action.TERM, note=str(event)))
                continue
            event_id = event.envelope.id
            handler = handler_for(event.type)
            if event_id in seen or handler is None:
                outcomes.append(Outcome(Action.ACK, note="duplicate" if handler else "no handler"))
                continue
            try:
                with transaction.atomic():
                    handler(event)
            except Exception as exc:
                error = "".join(traceback.format_exception(exc, limit=8))
                if msg.num_delivered >= max_deliveries:
                    _dead_letter(msg, event, error)
                    outcomes.append(Outcome(Action.TERM, note=str(exc)))
                else:
                    delay = conf.backoff(
                        msg.num_delivered,
                        base=conf.get("CONSUMER_BACKOFF_BASE_SECONDS"),
                        cap=conf.get("CONSUMER_BACKOFF_CAP_SECONDS"),
                    )
                    outcomes.append(Outcome(Action.NAK, delay=delay, note=str(exc)))
                log.warning("handler for %s %s failed (delivery %d): %s", event.type,
                            event_id, msg.num_delivered, exc)
                continue
            seen.add(event_id)
            applied.append(ProcessedEvent(event_id=event_id, event_type=event.type,
                                          stream=msg.stream, stream_seq=msg.stream_seq))
            outcomes.append(Outcome(Action.ACK))
        ProcessedEvent.objects.bulk_create(applied)
    return outcomes


def _dead_letter(msg: IncomingMessage, event: Event | None, error: str) -> None:
    now = timezone.now()
    DeadLetter.objects.update_or_create(
        stream=msg.stream,
        stream_seq=msg.stream_seq,
        defaults={
            "subject": msg.subject,
            "event_id": event.envelope.id if event else _event_id_guess(msg.data),
            "event_type": event.type if event else "",
            "payload": msg.data,
            "error": error[:20000],
            "deliveries": msg.num_delivered,
            "status": DeadLetter.Status.DEAD,
            "updated_at": now,
            "resolved_at": None,
        },
    )


def _event_id_guess(data: bytes) -> uuid.UUID | None:
    import json

    try:
        return uuid.UUID(json.loads(data)["id"])
    except Exception:
        return None


class ReplayError(Exception):
    pass


def replay_dead_letter(dead_letter: DeadLetter) -> str:
    """Apply a dead-lettered event again (after the fix is deployed). Idempotent like any other
    delivery; raises ReplayError with the reason if it still fails."""
    if dead_letter.status != DeadLetter.Status.DEAD:
        raise ReplayError(f"already {dead_letter.status}")
    try:
        event = decode(bytes(dead_letter.payload))
    except EventDecodeError as exc:
        raise ReplayError(f"still undecodable: {exc}") from None
    handler = handler_for(event.type)
    if handler is None:
        raise ReplayError(f"this service has no handler for {event.type}")
    now = timezone.now()
    with transaction.atomic():
        if ProcessedEvent.objects.filter(event_id=event.envelope.id).exists():
            note = "already applied"
        else:
            try:
                with transaction.atomic():
                    handler(event)
            except Exception as exc:
                DeadLetter.objects.filter(pk=dead_letter.pk).update(
                    error="".join(traceback.format_exception(exc, limit=8))[:20000],
                    updated_at=now)
                raise ReplayError(f"{type(exc).__name__}: {exc}") from exc
            ProcessedEvent.objects.create(event_id=event.envelope.id, event_type=event.type,
                                          stream=dead_letter.stream,
                                          stream_seq=dead_letter.stream_seq)
            note = "applied"
        DeadLetter.objects.filter(pk=dead_letter.pk).update(
            status=DeadLetter.Status.REPLAYED, resolved_at=now, updated_at=now)
    return note


def purge_inbox(older_than_hours: float | None = None) -> int:
    hours = conf.get("INBOX_RETENTION_HOURS") if older_than_hours is None else older_than_hours
    cutoff = timezone.now() - timedelta(hours=hours)
    deleted, _ = ProcessedEvent.objects.filter(processed_at__lt=cutoff).delete()
    return deleted
