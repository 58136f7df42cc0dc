"""Applying fetched messages to the database: one transaction per batch; the whole batch under one
savepoint, or, when that fails, a savepoint per message.

Each message is applied together with its inbox row (a duplicate id has no effect) by a handler
whose upsert is guarded by the aggregate version (an older state has no effect). Nothing is
acked before the transaction commits.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .. import conf, metrics
from ..log_context import REQUEST_ID_HEADER, bound, event_log_ids
from ..schemas import Event, EventDecodeError, decode
from .inbox import inbox_can_claim, inbox_claim, inbox_record, inbox_seen
from .models import DeadLetter, ProcessedEvent
from .registry import BatchHandler, batch_handler_for, handler_for

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
    # `data` decoded already (`decoded`): the runner decodes a batch on its event loop while
    # the database thread still applies the one before; None decodes it here.
    event: Event | EventDecodeError | None = None


def decoded(data: bytes) -> Event | EventDecodeError:
    """The event these bytes hold, or why they hold none (a poison message)."""
    try:
        return decode(data)
    except EventDecodeError as exc:
        return exc


@dataclasses.dataclass(frozen=True)
class Outcome:
    action: Action
    delay: float = 0.0
    note: str = ""


_APPLIED = Outcome(Action.ACK)  # frozen, so one for every applied message


def apply_batch(messages: Sequence[IncomingMessage]) -> list[Outcome]:
    """Apply a fetched batch in one transaction, with its inbox rows; returns what to tell
    JetStream about each message (ack only once this has returned, i.e. committed).

    Fast path: every new event of the batch at once, consecutive events of a list handler
    (`@handles(..., many=True)`) in one call. On PostgreSQL it is a transaction of its own
    without a savepoint: the inbox rows first, as one insert that skips the ids it holds
    already and says which it took (`inbox_claim`), then the events whose rows were new;
    elsewhere under one savepoint, with a lookup before and an insert after. If anything in it
    fails, it is rolled back (its inbox rows with it) and the batch is applied again one event
    at a time, each under its own savepoint, so only the failing events are retried or
    dead-lettered and the rest commit.
    """
    started = time.monotonic()
    events = [decoded(msg.data) if msg.event is None else msg.event for msg in messages]
    claiming = inbox_can_claim()
    result: _Sorted | None = None
    if claiming:
        try:
            with transaction.atomic():
                result = _sorted_out(messages, events)
                result.applied = _claim_and_apply(result.todo)
        except Exception as exc:
            _log_failed_as_a_whole(len(messages), exc)
            result = None
    if result is None:
        with transaction.atomic():
            result = _sorted_out(messages, events)
            seen = inbox_seen([event.envelope.id for _i, _msg, event in result.todo])
            fresh = [planned for planned in result.todo if planned[2].envelope.id not in seen]
            # A batch that failed as a whole while claiming goes one by one at once.
            applied = None if claiming or not fresh else _apply_together(fresh)
            if applied is None:
                applied = _apply_one_by_one(
                    fresh, result.outcomes, conf.get("CONSUMER_MAX_DELIVERIES")
                )
            inbox_record(
                [
                    (event.envelope.id, event.type, msg.stream, msg.stream_seq)
                    for _i, msg, event in applied
                ],
                now=timezone.now(),
            )
            result.applied = applied
    outcomes, applied = result.outcomes, result.applied
    for i, _msg, _event in applied:
        outcomes[i] = _APPLIED
    for i, _msg, _event in result.todo:
        if outcomes[i] is None:  # in the inbox already: applied before
            outcomes[i] = Outcome(Action.ACK, note="duplicate")
    for i, first in result.repeats:
        # The same event twice in one batch: one effect; this copy shares the first's fate.
        done = outcomes[first]
        assert done is not None
        outcomes[i] = Outcome(Action.ACK, note="duplicate") if (done.action is Action.ACK) else done
    _log_applied(applied)
    assert all(o is not None for o in outcomes)
    _record_metrics(messages, applied, outcomes, started)  # type: ignore[arg-type]
    return outcomes  # type: ignore[return-value]


Planned = tuple[int, IncomingMessage, Event]


@dataclasses.dataclass
class _Sorted:
    """A batch sorted out: what is settled already, what to apply, the copies in it."""

    outcomes: list[Outcome | None]
    todo: list[Planned]
    repeats: list[tuple[int, int]]  # (index, index of the first copy in this batch)
    applied: list[Planned] = dataclasses.field(default_factory=list)


def _sorted_out(
    messages: Sequence[IncomingMessage], events: Sequence[Event | EventDecodeError]
) -> _Sorted:
    """In the batch's transaction: undecodable messages dead-lettered, events of no handler
    settled, copies of an event set aside, the rest to apply."""
    result = _Sorted([None] * len(messages), [], [])
    first_copy: dict[uuid.UUID, int] = {}
    for i, (msg, event) in enumerate(zip(messages, events, strict=True)):
        if isinstance(event, EventDecodeError):
            # Retrying cannot make unreadable bytes readable: dead-letter at once.
            _dead_letter(msg, None, f"undecodable: {event}")
            result.outcomes[i] = Outcome(Action.TERM, note=str(event))
            continue
        event_id = event.envelope.id
        if handler_for(event.type) is None:
            result.outcomes[i] = Outcome(Action.ACK, note="no handler")
        elif event_id in first_copy:
            result.repeats.append((i, first_copy[event_id]))
        else:
            first_copy[event_id] = i
            result.todo.append((i, msg, event))
    return result


def _record_metrics(
    messages: Sequence[IncomingMessage],
    applied: list[Planned],
    outcomes: list[Outcome],
    started: float,
) -> None:
    """The batch's counters and histograms, per stream (the runner's batches have one)."""
    seconds = time.monotonic() - started
    applied_at = timezone.now()
    streams: dict[str, metrics.ConsumerBatch] = {}
    for msg, outcome in zip(messages, outcomes, strict=True):
        batch = streams.get(msg.stream)
        if batch is None:
            batch = streams[msg.stream] = metrics.ConsumerBatch(msg.stream)
        batch.redelivered += msg.num_delivered > 1
        batch.dead_lettered += outcome.action is Action.TERM
    for _i, msg, event in applied:
        streams[msg.stream].occurred.append(event.envelope.occurred_at)
    for batch in streams.values():
        metrics.consumer_batch_applied(batch, seconds=seconds, applied_at=applied_at)


def _claim_and_apply(todo: list[Planned]) -> list[Planned]:
    """The inbox rows of them all, then the events whose rows were new, which are returned
    (the others were applied before). Raises if anything failed."""
    if not todo:
        return []
    claimed = inbox_claim(
        [(event.envelope.id, event.type, msg.stream, msg.stream_seq) for _i, msg, event in todo],
        now=timezone.now(),
    )
    fresh = [planned for planned in todo if planned[2].envelope.id in claimed]
    _run_handlers(fresh)
    return fresh


def _apply_together(todo: list[Planned]) -> list[Planned] | None:
    """All of them under one savepoint; None (and nothing applied) if anything failed."""
    try:
        with transaction.atomic():
            _run_handlers(todo)
    except Exception as exc:
        _log_failed_as_a_whole(len(todo), exc)
        return None
    return todo


def _run_handlers(todo: list[Planned]) -> None:
    """Each event's handler in order, consecutive events of a list handler in one call."""
    run: list[Event] = []
    run_handler: BatchHandler | None = None
    for _i, _msg, event in todo:
        many = batch_handler_for(event.type)
        if many is not None and many is run_handler:
            run.append(event)
            continue
        if run_handler is not None:
            run_handler(run)
        run, run_handler = [event], many
        if many is None:
            handler = handler_for(event.type)
            assert handler is not None
            _handle(handler, event)
            run = []
    if run_handler is not None:
        run_handler(run)


def _log_failed_as_a_whole(count: int, exc: Exception) -> None:
    log.info(
        "a batch of %d events failed as a whole (%s: %s); applying them one by one",
        count,
        type(exc).__name__,
        exc,
    )


def _apply_one_by_one(
    todo: list[Planned], outcomes: list[Outcome | None], max_deliveries: int
) -> list[Planned]:
    """Each event under its own savepoint: a failing one is retried later (NAK with backoff)
    or, at its last delivery, dead-lettered; the others are applied."""
    applied: list[Planned] = []
    for i, msg, event in todo:
        handler = handler_for(event.type)
        assert handler is not None
        try:
            with transaction.atomic():
                _handle(handler, event)
        except Exception as exc:
            error = "".join(traceback.format_exception(exc, limit=8))
            if msg.num_delivered >= max_deliveries:
                _dead_letter(msg, event, error)
                outcomes[i] = Outcome(Action.TERM, note=str(exc))
            else:
                delay = conf.backoff(
                    msg.num_delivered,
                    base=conf.get("CONSUMER_BACKOFF_BASE_SECONDS"),
                    cap=conf.get("CONSUMER_BACKOFF_CAP_SECONDS"),
                )
                outcomes[i] = Outcome(Action.NAK, delay=delay, note=str(exc))
            log.warning(
                "handler for %s %s failed (delivery %d): %s",
                event.type,
                event.envelope.id,
                msg.num_delivered,
                exc,
            )
            continue
        applied.append((i, msg, event))
    return applied


def _handle(handler: Callable[[Event], None], event: Event) -> None:
    """Run a one-event handler with the event's request id bound, so the events it records
    carry it on (and the event's id on the handler's own lines). An event of no request (most
    of a backlog) costs one attribute check."""
    headers = event.envelope.headers
    if not headers or REQUEST_ID_HEADER not in headers:
        handler(event)
        return
    with bound(request_id=headers[REQUEST_ID_HEADER], event_id=str(event.envelope.id)):
        handler(event)


def _log_applied(applied: list[Planned]) -> None:
    """After the commit: a line per applied event that a request caused, with its ids, so
    `grep <request id>` finds where it landed. Events of no request come in bulk: no line."""
    for _i, _msg, event in applied:
        envelope = event.envelope
        if envelope.headers and REQUEST_ID_HEADER in envelope.headers:
            event_id = str(envelope.id)
            log.info(
                "applied %s %s v%d",
                envelope.type,
                event_id,
                envelope.version,
                extra=event_log_ids(
                    envelope.headers[REQUEST_ID_HEADER],
                    event_id,
                    envelope.type,
                    envelope.aggregate_id,
                ),
            )


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
                    error="".join(traceback.format_exception(exc, limit=8))[:20000], updated_at=now
                )
                raise ReplayError(f"{type(exc).__name__}: {exc}") from exc
            ProcessedEvent.objects.create(
                event_id=event.envelope.id,
                event_type=event.type,
                stream=dead_letter.stream,
                stream_seq=dead_letter.stream_seq,
            )
            note = "applied"
        DeadLetter.objects.filter(pk=dead_letter.pk).update(
            status=DeadLetter.Status.REPLAYED, resolved_at=now, updated_at=now
        )
    return note


def purge_inbox(older_than_hours: float | None = None) -> int:
    hours = conf.get("INBOX_RETENTION_HOURS") if older_than_hours is None else older_than_hours
    cutoff = timezone.now() - timedelta(hours=hours)
    deleted, _ = ProcessedEvent.objects.filter(processed_at__lt=cutoff).delete()
    return deleted
