"""The relay: claim pending outbox rows, publish them to JetStream, mark them published.

A claim is one statement (rows picked FOR UPDATE SKIP LOCKED get a lease), publishing
happens outside any transaction, and marking checks the claim token, so several relays can run
at once and a relay that dies mid-way only delays its rows until the lease expires. A row
published twice is dropped by JetStream (the event id is the Nats-Msg-Id) or, outside the
duplicate window, by the consumers' inbox and version guard.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import time
import uuid
from datetime import datetime, timedelta

from django.db import connection, connections, router
from django.utils import timezone
from django.utils.module_loading import import_string

from .. import conf, metrics
from ..db_connections import on_fresh_connection
from ..log_context import event_log_ids
from ..transport.connection import TransportError
from ..transport.publisher import OutgoingMessage, Publisher, PublishingBatch
from ..transport.streams import stream_spec
from .claims import Claimed, claim_due, mark_sent
from .models import OutboxEvent

log = logging.getLogger(__name__)

_publisher: Publisher | None = None


def _after_publish(alias: str) -> None:
    """The RELAY_AFTER_PUBLISH hook, if set: run once JetStream confirmed a batch and before its
    rows are marked, with the database alias they are marked on. Tests inject faults there
    (shared_events.core.testing), a moment nothing sent from outside can hit reliably."""
    hook = conf.get("RELAY_AFTER_PUBLISH")
    if hook:
        import_string(hook)(alias)


def get_publisher() -> Publisher:
    global _publisher
    if _publisher is None:
        _publisher = Publisher(
            conf.get("NATS_URL"),
            name=f"{conf.service_name()}-relay",
            streams=[stream_spec(p) for p in conf.get("PRODUCES")],
        )
    return _publisher


@dataclasses.dataclass
class RelayResult:
    claimed: int = 0
    published: int = 0
    superseded: int = 0
    failed: int = 0

    def __iadd__(self, other: RelayResult) -> RelayResult:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))
        return self


def claim_batch(limit: int) -> tuple[uuid.UUID, list[Claimed]]:
    """Lease up to `limit` due rows to this relay, oldest first (see `claims.claim_due`)."""
    token = uuid.uuid4()
    now = timezone.now()
    lease_until = now + timedelta(seconds=conf.get("RELAY_LEASE_SECONDS"))
    # Again on a new connection if this one was lost: the batch before may be waiting for it
    # to be marked.
    rows = on_fresh_connection(
        lambda: claim_due(token=token, now=now, lease_until=lease_until, limit=limit),
        what="relay claim",
        alias=router.db_for_write(OutboxEvent),
    )
    return token, rows


def _newest_per_aggregate(rows: list[Claimed]) -> tuple[list[Claimed], list[int]]:
    """Events carry full state, so of several states of one aggregate only the newest matters."""
    newest: dict[str, Claimed] = {}
    for row in rows:
        kept = newest.get(row.subject)
        if kept is None or row.aggregate_version > kept.aggregate_version:
            newest[row.subject] = row
    send = sorted(newest.values(), key=lambda r: r.seq)
    kept_seqs = {r.seq for r in send}
    return send, [r.seq for r in rows if r.seq not in kept_seqs]


@dataclasses.dataclass
class _InFlight:
    token: uuid.UUID
    claimed: int
    send: list[Claimed]
    superseded: list[int]
    publishing: PublishingBatch | None
    error: BaseException | None = None
    started: float = dataclasses.field(default_factory=time.monotonic)  # handed to the publisher


def _claim_and_send(limit: int) -> _InFlight | None:
    """Claim a batch and hand it to the publisher without waiting for the acks."""
    token, rows = claim_batch(limit)
    if not rows:
        return None
    send, superseded = _newest_per_aggregate(rows)
    messages = [
        OutgoingMessage(r.subject, r.payload, str(r.event_id), r.event_type, r.request_id)
        for r in send
    ]
    batch = _InFlight(token, len(rows), send, superseded, None)
    try:
        batch.publishing = get_publisher().publish_batch_start(
            messages, timeout=conf.get("RELAY_PUBLISH_TIMEOUT_SECONDS")
        )
    except Exception as exc:  # keep the rows safe whatever the client library throws
        batch.error = exc
    return batch


def _finish(batch: _InFlight) -> RelayResult:
    """Wait for the batch's acks, then mark its rows (or back off the ones that failed)."""
    send, superseded = batch.send, batch.superseded
    outcomes: list[BaseException | None]
    try:
        if batch.error is not None:
            raise batch.error
        assert batch.publishing is not None
        outcomes = batch.publishing.result()
    except TransportError as exc:
        outcomes = [exc] * len(send)
    except Exception as exc:  # keep the rows safe whatever the client library throws
        log.exception("relay publish failed")
        outcomes = [exc] * len(send)

    ok = [row.seq for row, err in zip(send, outcomes, strict=True) if err is None]
    publish_seconds = time.monotonic() - batch.started
    if ok:
        _after_publish(router.db_for_write(OutboxEvent))
        _log_published(send, outcomes)
    failed = [(row, err) for row, err in zip(send, outcomes, strict=True) if err is not None]
    now = timezone.now()
    # JetStream has the events: a lost connection must not leave the rows to wait out their
    # lease. Marking again is harmless (it only touches rows still carrying this claim).
    on_fresh_connection(
        lambda: _mark(batch, ok, failed, now),
        what="relay marking",
        alias=router.db_for_write(OutboxEvent),
    )
    metrics.relay_batch_published(published=len(ok), failed=len(failed), seconds=publish_seconds)
    if failed:
        log.warning("relay: %d events not published yet: %s", len(failed), failed[0][1])
    return RelayResult(
        claimed=batch.claimed, published=len(ok), superseded=len(superseded), failed=len(failed)
    )


def _log_published(send: list[Claimed], outcomes: list[BaseException | None]) -> None:
    """A line per published event that a request caused, with its ids, so `grep <request id>`
    finds it. Events of no request (sweeps, accrual, imports) get none: they come in bulk."""
    for row, err in zip(send, outcomes, strict=True):
        if err is None and row.request_id:
            event_id = str(row.event_id)
            log.info(
                "published %s %s",
                row.event_type,
                event_id,
                extra=event_log_ids(
                    row.request_id, event_id, row.event_type, row.subject.split(".", 2)[-1]
                ),
            )


def _mark(
    batch: _InFlight, ok: list[int], failed: list[tuple[Claimed, BaseException]], now: datetime
) -> None:
    """Mark the batch's sent and superseded rows published, back off the failed ones."""
    superseded = batch.superseded
    released = {"claim_token": None, "claimed_until": None}
    mine = OutboxEvent.objects.filter(claim_token=batch.token)
    if superseded:
        mark_sent(token=batch.token, seqs=superseded, now=now, superseded=True)
    if ok:
        mark_sent(token=batch.token, seqs=ok, now=now)
    for row, err in failed:
        attempts = row.attempts + 1
        delay = conf.backoff(
            attempts,
            base=conf.get("RELAY_BACKOFF_BASE_SECONDS"),
            cap=conf.get("RELAY_BACKOFF_CAP_SECONDS"),
        )
        mine.filter(seq=row.seq).update(
            attempts=attempts,
            next_attempt_at=now + timedelta(seconds=delay),
            last_error=f"{type(err).__name__}: {err}"[:2000],
            **released,
        )


def relay_batch(limit: int | None = None) -> RelayResult:
    batch = _claim_and_send(limit or conf.get("RELAY_BATCH_SIZE"))
    return _finish(batch) if batch is not None else RelayResult()


class _Marker:
    """Finishes batches (waits for their acks, marks their rows) on a thread and database
    connection of its own, so that marking one batch and claiming the next run side by side in
    the database. Started only for a backlog, and never inside a transaction, whose rows
    another connection could not see; otherwise batches are finished inline."""

    def __init__(self, threaded: bool) -> None:
        self._threaded = threaded
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def submit(self, batch: _InFlight, *, more_coming: bool) -> concurrent.futures.Future:
        if self._pool is None and self._threaded and more_coming:
            self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="relay-marker")
        if self._pool is not None:
            return self._pool.submit(_finish, batch)
        done: concurrent.futures.Future = concurrent.futures.Future()
        done.set_result(_finish(batch))
        return done

    def close(self) -> None:
        if self._pool is not None:
            self._pool.submit(connections.close_all).result()  # the thread's own connection
            self._pool.shutdown()


def relay_pending(*, time_budget: float | None = None) -> tuple[RelayResult, bool]:
    """Relay until nothing is due, the budget is spent, or publishing fails. Returns the totals
    and whether rows may be left that are due now (the budget ran out).

    Pipelined: the next batch is claimed and sent while the acks of the one before are on
    their way, and with a backlog that one is marked (by `_Marker`) while the one after is
    claimed. At most three batches are claimed and not yet marked."""
    budget = conf.get("RELAY_TIME_BUDGET_SECONDS") if time_budget is None else time_budget
    limit = conf.get("RELAY_BATCH_SIZE")
    deadline = time.monotonic() + budget
    total = RelayResult()
    marker = _Marker(threaded=not connection.in_atomic_block)
    finishing: concurrent.futures.Future | None = None
    current = _claim_and_send(limit)
    try:
        while current is not None:
            full = current.claimed >= limit  # a short batch took everything that was due
            budget_left = time.monotonic() < deadline
            following = _claim_and_send(limit) if full and budget_left else None
            if finishing is not None:
                result = finishing.result()
                finishing = None
                total += result
                if result.failed:  # NATS is in trouble: finish what is out, then stop
                    total += _finish(current)
                    if following is not None:
                        total += _finish(following)
                    return total, False
            finishing = marker.submit(current, more_coming=following is not None)
            if following is None:
                result = finishing.result()
                finishing = None
                total += result
                return total, full and not budget_left and not result.failed
            current = following
        return total, False
    finally:
        if finishing is not None:
            total += finishing.result()
        marker.close()


def purge_published(*, older_than: timedelta | None = None, chunk: int = 5000) -> int:
    if older_than is None:
        older_than = timedelta(hours=conf.get("OUTBOX_RETENTION_HOURS"))
    cutoff = timezone.now() - older_than
    purged = 0
    while True:
        seqs = list(
            OutboxEvent.objects.filter(published_at__lt=cutoff).values_list("seq", flat=True)[
                :chunk
            ]
        )
        if not seqs:
            return purged
        purged += OutboxEvent.objects.filter(seq__in=seqs)._raw_delete(OutboxEvent.objects.db)
