"""Storing the pool's stake distribution per epoch, and keeping it in step with the chain.

`epoch_stake_import` stores one epoch whole and once (append-only; the same rows again change
nothing, other rows are refused), and in the same transaction sends what became final to the
other services (epoch_stake_events.py). `stake_history_sync` is what the beat task runs: it
asks the configured source for every epoch of the loyalty window that is not stored yet, newest
first (the current epoch is what eligibility needs first; an older one the source cannot give
does not hold it back), and records how the source answered. A source that is down or answers
nonsense leaves what is stored in place; the state then reads "stale since" the first failure.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import IO

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from shared_events.kit.epochs import epoch_start
from shared_events.kit.errors import Conflict

from ..chain.sources import ChainSource, ChainSourceError, StakeRow, configured_source, values
from ..chain.sources.snapshot_file import StakeSnapshotFile
from ..models import ChainSyncState, EpochStake, EpochStakeImport
from .epoch_stake_events import epoch_stakes_publish_ready

log = logging.getLogger(__name__)
_BATCH = 5000
# Longer than any sync should take; a worker that died mid-sync frees the lease by then.
_LEASE = timedelta(hours=2)


@dataclasses.dataclass(frozen=True)
class EpochImport:
    epoch: int
    delegators: int
    total_lovelace: int
    created: bool  # False: the epoch was already stored, with these very rows

    def describe(self) -> str:
        state = "imported" if self.created else "already stored, unchanged"
        return (
            f"epoch {self.epoch}: {delegators(self.delegators)}, "
            f"{self.total_lovelace / 1_000_000:,.6f} ada ({state})"
        )


def delegators(count: int) -> str:
    return f"{count} delegator{'' if count == 1 else 's'}"


@dataclasses.dataclass
class SyncReport:
    source: str
    imported: list[EpochImport] = dataclasses.field(default_factory=list)
    error: str = ""
    skipped: str = ""  # why nothing was asked (no polled source, another sync running)


def distribution_digest(rows: Sequence[StakeRow]) -> str:
    digest = hashlib.sha256()
    for address, lovelace in sorted(rows):
        digest.update(f"{address}:{lovelace}\n".encode())
    return digest.hexdigest()


def epoch_stake_import(
    *, epoch: int, pool_id: str, rows: Sequence[StakeRow], source: str
) -> EpochImport:
    """Store `rows` as the pool's whole distribution of `epoch`, in one transaction."""
    _check_rows(rows)
    digest = distribution_digest(rows)
    total = sum(row.lovelace for row in rows)
    try:
        with transaction.atomic():
            EpochStakeImport.objects.create(
                epoch=epoch,
                pool_id=pool_id,
                source=source,
                delegators=len(rows),
                total_lovelace=total,
                digest=digest,
            )
            EpochStake.objects.bulk_create(
                (
                    EpochStake(epoch_id=epoch, stake_address=address, lovelace=lovelace)
                    for address, lovelace in rows
                ),
                batch_size=_BATCH,
            )
            # This epoch, and later ones whose loyalty window it completes, go to the other
            # services with the rows, or not at all.
            epoch_stakes_publish_ready(imported=epoch)
    except IntegrityError:
        # Stored already (by an earlier run, or a concurrent one that committed first).
        stored = EpochStakeImport.objects.filter(epoch=epoch).first()
        if stored is None:
            raise
        if stored.digest != digest or stored.pool_id != pool_id:
            raise Conflict(
                f"Epoch {epoch} is stored already ({stored.delegators} delegators of "
                f"{stored.pool_id}, from {stored.source}) and differs from this import "
                f"({len(rows)} delegators of {pool_id}); a stored epoch is never changed."
            ) from None
        return EpochImport(epoch, stored.delegators, stored.total_lovelace, created=False)
    return EpochImport(epoch, len(rows), total, created=True)


def stake_snapshot_import(*, stream: IO[bytes], epoch: int | None = None) -> list[EpochImport]:
    """Import a snapshot file (the `file` source; see sources/snapshot_file.py for its shapes):
    every epoch it holds, or none of them when one is refused. Raises StakeSnapshotFileError
    naming the line and problem, or Conflict for an epoch stored with other rows."""
    pool_id = configured_pool_id()
    snapshot = StakeSnapshotFile.read(
        stream, network=values.network_of(settings.CARDANO_NETWORK), pool_id=pool_id, epoch=epoch
    )
    with transaction.atomic():
        return [
            epoch_stake_import(epoch=number, pool_id=pool_id, rows=rows, source=snapshot.name)
            for number, rows in snapshot.distributions.items()
        ]


def _check_rows(rows: Sequence[StakeRow]) -> None:
    seen: set[str] = set()
    for address, lovelace in rows:
        if address in seen:
            raise ValidationError(f"{address} is listed twice.", code="duplicate")
        if not 0 <= lovelace <= values.MAX_LOVELACE:
            raise ValidationError(f"{address}: {lovelace} is not a possible stake.", code="invalid")
        seen.add(address)


def stake_history_sync(
    *, source: ChainSource | None = None, now: datetime | None = None
) -> SyncReport:
    """Import every epoch of the loyalty window the source has and we have not stored."""
    # Whatever the source: an epoch stored before its events existed, or whose window a
    # smaller LOYALTY_BACKFILL_EPOCHS completed, is sent now.
    epoch_stakes_publish_ready()
    source = source if source is not None else configured_source()
    if source is None:
        return SyncReport(
            source=settings.CHAIN_SOURCE,
            skipped=f"CHAIN_SOURCE={settings.CHAIN_SOURCE} is not polled",
        )
    pool_id = configured_pool_id()
    now = now or timezone.now()
    if not _lease_taken(now):
        return SyncReport(source=source.name, skipped="another sync is running")
    report = SyncReport(source=source.name)
    try:
        for epoch in _epochs_wanted(source.current_epoch(), now):
            rows = source.pool_stake_distribution(pool_id, epoch)
            report.imported.append(
                epoch_stake_import(epoch=epoch, pool_id=pool_id, rows=rows, source=source.name)
            )
    except (ChainSourceError, Conflict) as failure:
        report.error = str(failure)
        log.warning("chain source %s: %s (stored epochs stay as they are)", source.name, failure)
    except BaseException as failure:
        report.error = f"{type(failure).__name__}: {failure}"
        raise
    finally:
        _record(report, now)  # frees the lease, whatever happened
    return report


def configured_pool_id() -> str:
    try:
        return values.pool_id(settings.POOL_ID)
    except ValueError:
        raise ImproperlyConfigured(
            f"POOL_ID={settings.POOL_ID!r} is not a bech32 pool id (pool1…)"
        ) from None


def _epochs_wanted(current: int, now: datetime) -> list[int]:
    # A source fills an epoch's distribution during its first hours: an epoch younger than the
    # settle time may be incomplete, and a stored epoch is never changed, so it waits.
    if epoch_start(current) + timedelta(seconds=settings.CHAIN_EPOCH_SETTLE_SECONDS) > now:
        current -= 1
    first = max(current - settings.LOYALTY_BACKFILL_EPOCHS + 1, 0)
    stored = set(EpochStakeImport.objects.filter(epoch__gte=first).values_list("epoch", flat=True))
    return [epoch for epoch in range(current, first - 1, -1) if epoch not in stored]


def _lease_taken(now: datetime) -> bool:
    ChainSyncState.objects.get_or_create(id=1)
    return bool(
        ChainSyncState.objects.filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now),
            id=1,
        ).update(lease_until=now + _LEASE, last_attempt_at=now)
    )


def _record(report: SyncReport, now: datetime) -> None:
    state = ChainSyncState.objects.get(id=1)
    state.source = report.source
    state.lease_until = None
    if report.error:
        state.failing_since = state.failing_since or now
        state.last_error = report.error[:2000]
    else:
        state.last_success_at = now
        state.failing_since = None
        state.last_error = ""
    state.save()
