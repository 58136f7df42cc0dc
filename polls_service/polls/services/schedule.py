"""Opening and closing polls on time (the Celery beat task calls this every second).

Safe with any number of workers at once: each batch claims due polls with
`SELECT ... FOR UPDATE SKIP LOCKED`, so two runs never wait on or take the same poll, and the
transition is an UPDATE conditioned on the status it starts from, so a poll already moved on (by
another run, or by an operator) is left alone. Running it again changes nothing.

Opening fixes the poll's snapshot epoch in the same UPDATE (the one the operator chose, or the
epoch of opens_at), so the event that says "open" also says which epoch's stake counts.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from ..models import Poll, PollStatus
from .power import opening_epoch
from .results import poll_finalize_if_ready

BATCH_SIZE = 100


def _advance(
    *, from_status: str, to_status: str, due: Q, now: datetime, batch_size: int
) -> list[uuid.UUID]:
    moved: list[uuid.UUID] = []
    while True:
        # Short transactions: the lock lasts one batch, never the whole run.
        with transaction.atomic():
            ids = list(
                Poll.objects.select_for_update(skip_locked=True)
                .filter(due, status=from_status)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return moved
            also = _snapshot_epochs(ids) if to_status == PollStatus.OPEN else {}
            # The guarded update(): a new version and event per poll, in this transaction.
            if not Poll.objects.filter(pk__in=ids, status=from_status).update(
                status=to_status, updated_at=now, **also
            ):
                return moved
            if to_status == PollStatus.CLOSED:
                for poll_id in ids:
                    # A final tally that came before the close (clocks differ) finalizes now.
                    poll_finalize_if_ready(poll_id=poll_id)
        moved.extend(ids)
        if len(ids) < batch_size:
            return moved


def _snapshot_epochs(ids: list[uuid.UUID]) -> dict[str, Any]:
    """The snapshot_epoch column for polls about to open (locked): set where none was chosen."""
    unset = Poll.objects.filter(pk__in=ids, snapshot_epoch__isnull=True).values_list(
        "pk", "opens_at"
    )
    whens = [When(pk=pk, then=Value(opening_epoch(opens_at))) for pk, opens_at in unset]
    if not whens:
        return {}
    return {
        "snapshot_epoch": Case(
            *whens, default=F("snapshot_epoch"), output_field=models.PositiveIntegerField()
        )
    }


def polls_open_and_close_due(
    *, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> dict[str, int]:
    """Open scheduled polls whose opens_at has passed, then close open polls whose closes_at
    has passed (so a poll whose whole window passed while nothing ran opens and closes in one
    run). Returns how many of each."""
    now = now or timezone.now()
    opened = _advance(
        from_status=PollStatus.SCHEDULED,
        to_status=PollStatus.OPEN,
        due=Q(opens_at__lte=now),
        now=now,
        batch_size=batch_size,
    )
    closed = _advance(
        from_status=PollStatus.OPEN,
        to_status=PollStatus.CLOSED,
        due=Q(closes_at__lte=now),
        now=now,
        batch_size=batch_size,
    )
    return {"opened": len(opened), "closed": len(closed)}
