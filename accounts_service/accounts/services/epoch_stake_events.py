"""Sending the pool's stake distribution to the other services: the `accounts.epoch_stake`
events (shared_events.core.schemas.accounts.EpochStakePart), each row with its loyalty.

An epoch is sent once, and only when its loyalty is final. Loyalty counts the consecutive
epochs ending at the epoch in which an address is in the distribution, over the loyalty window
(`LOYALTY_BACKFILL_EPOCHS` epochs ending at it); the sync fetches the newest epoch first and
backfills older ones after it, and a file can bring an older epoch any time, so an epoch whose
window is not stored whole would count too little. So an epoch waits until every epoch of its
window is stored (an epoch without delegators is stored as such), and storing an epoch sends,
in the same transaction, every epoch whose window it completed. As the stored history is
append-only, what was sent never changes: each part is version 1 of its aggregate, for good,
and a replica built from the stream equals the one built as the events came.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction

from shared_events.core.outbox.writer import PendingEvent, record_events
from shared_events.core.schemas.accounts import (
    EPOCH_STAKE_ROWS_PER_PART,
    EpochStakePart,
    epoch_stake_part_id,
)

from ..models import EpochStakeImport, EpochStakePublication
from ..selectors.stake_history import epoch_stake_with_loyalty, loyalty_window_start

# Taken by every transaction that decides what to send: two imports committing side by side
# would each miss the other's epoch and leave an epoch whose window they completed together
# unsent. (SQLite, the embedded default, runs one writing transaction at a time anyway.)
_PUBLICATION_LOCK = 0x65706F6368  # "epoch"


def epoch_stakes_publish_ready(*, imported: int | None = None) -> list[int]:
    """Record the events of every stored epoch not sent yet whose loyalty window is stored
    whole; with `imported`, only of the epochs whose window holds that epoch (the one an
    import just stored). Runs inside the caller's transaction; returns the epochs sent."""
    if not connection.in_atomic_block:
        with transaction.atomic():
            return epoch_stakes_publish_ready(imported=imported)
    _serialize_publication()
    window = settings.LOYALTY_BACKFILL_EPOCHS
    waiting = EpochStakeImport.objects.filter(publication__isnull=True)
    if imported is not None:
        waiting = waiting.filter(epoch__gte=imported, epoch__lt=imported + window)
    candidates = sorted(waiting.values_list("epoch", flat=True))
    if not candidates:
        return []
    stored = set(
        EpochStakeImport.objects.filter(
            epoch__gte=loyalty_window_start(candidates[0], window),
            epoch__lte=candidates[-1],
        ).values_list("epoch", flat=True)
    )
    sent = []
    for epoch in candidates:
        if all(e in stored for e in range(loyalty_window_start(epoch, window), epoch)):
            _publish(epoch, window)
            sent.append(epoch)
    return sent


def _publish(epoch: int, window: int) -> None:
    header = EpochStakeImport.objects.get(epoch=epoch)
    rows = epoch_stake_with_loyalty(epoch=epoch, since=loyalty_window_start(epoch, window))
    parts = [
        rows[start : start + EPOCH_STAKE_ROWS_PER_PART]
        for start in range(0, len(rows), EPOCH_STAKE_ROWS_PER_PART)
    ] or [[]]
    record_events(
        [
            PendingEvent(
                "accounts.epoch_stake.created",
                epoch_stake_part_id(epoch, number),
                1,
                EpochStakePart(
                    epoch=epoch,
                    part=number,
                    parts=len(parts),
                    pool_id=header.pool_id,
                    rows=[list(row) for row in part],
                    loyalty_window=window,
                ),
            )
            for number, part in enumerate(parts)
        ]
    )
    EpochStakePublication.objects.create(epoch=header, parts=len(parts), loyalty_window=window)


def _serialize_publication() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PUBLICATION_LOCK])
