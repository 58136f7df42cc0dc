"""Reads of the pool's stored stake history (services/stake_history.py writes it): one epoch's
distribution, and the state of the chain source for `manage.py chain_status`, `manage_all.py
status` and the admin: the newest stored epoch, the last good sync and, when the source fails,
"stale since" the first failure with its error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count

from shared_events.kit.chain_mode import open_eligibility
from shared_events.kit.epochs import epoch_start

from ..chain.sources import POLLED_SOURCES
from ..models import ChainSyncState, EpochStake, EpochStakeImport, EpochStakePublication


def epoch_stake_distribution(*, epoch: int) -> dict[str, int] | None:
    """The pool's active stake per stake address in `epoch` (lovelace), or None when that epoch
    is not stored (unknown is not the same as no delegators)."""
    if not EpochStakeImport.objects.filter(epoch=epoch).exists():
        return None
    return dict(EpochStake.objects.filter(epoch_id=epoch).values_list("stake_address", "lovelace"))


def loyalty_window_start(epoch: int, window: int | None = None) -> int:
    """The first epoch of `epoch`'s loyalty window: loyalty looks back this far at most."""
    window = settings.LOYALTY_BACKFILL_EPOCHS if window is None else window
    return max(epoch - window + 1, 0)


def epoch_stake_missing_for_loyalty(*, epoch: int) -> list[int]:
    """The epochs of `epoch`'s loyalty window that are not stored: until they are, its loyalty
    is not final and the epoch is not sent to the other services."""
    start = loyalty_window_start(epoch)
    stored = set(
        EpochStakeImport.objects.filter(epoch__gte=start, epoch__lt=epoch).values_list(
            "epoch", flat=True
        )
    )
    return [e for e in range(start, epoch) if e not in stored]


def epoch_stake_with_loyalty(*, epoch: int, since: int) -> list[tuple[str, int, int]]:
    """Every row of `epoch` as (stake address, lovelace, loyalty), sorted by address (code
    point order, whatever the database's collation). Loyalty counts the consecutive epochs
    ending at `epoch` in which the address is stored, looking back to `since` at most. Every
    epoch from `since` to `epoch` must be stored: one that is not would read as a gap."""
    table = connection.ops.quote_name(EpochStake._meta.db_table)
    # Epoch by epoch backwards, one epoch's addresses a statement (a range of the unique
    # index), in plain SQL: ranking the window's rows in SQL sorted them by address under the
    # database's collation, and the ORM's per-row work cost more than the statements did.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT stake_address, lovelace FROM {table} WHERE epoch = %s", [epoch])
        stakes = {address: int(lovelace) for address, lovelace in cursor.fetchall()}
        loyalty: dict[str, int] = {}
        still_there = set(stakes)
        earlier = epoch - 1
        while still_there and earlier >= since:
            cursor.execute(f"SELECT stake_address FROM {table} WHERE epoch = %s", [earlier])
            present = {address for (address,) in cursor.fetchall()}
            for address in still_there - present:
                loyalty[address] = epoch - earlier
            still_there &= present
            earlier -= 1
    for address in still_there:
        loyalty[address] = epoch - earlier
    return [(address, stakes[address], loyalty[address]) for address in sorted(stakes)]


def epoch_stake_newest() -> EpochStakeImport | None:
    return EpochStakeImport.objects.order_by("-epoch").first()


def chain_source_staleness(*, now: datetime) -> tuple[int | None, float]:
    """The newest stored epoch, and the seconds since the next one should have been stored (0
    while it is not due yet, or when the source is not polled: files come when they come).
    Due: once the next epoch is older than CHAIN_EPOCH_SETTLE_SECONDS, as the sync wants it."""
    newest = EpochStakeImport.objects.order_by("-epoch").values_list("epoch", flat=True).first()
    if settings.CHAIN_SOURCE not in POLLED_SOURCES:
        return newest, 0.0
    if newest is None:  # nothing stored yet: stale since the sync first failed, if it did
        state = ChainSyncState.objects.filter(id=1).first()
        failing_since = state.failing_since if state else None
        return None, (now - failing_since).total_seconds() if failing_since else 0.0
    due = epoch_start(newest + 1) + timedelta(seconds=settings.CHAIN_EPOCH_SETTLE_SECONDS)
    return newest, max(0.0, (now - due).total_seconds())


def chain_status() -> dict[str, Any]:
    source = settings.CHAIN_SOURCE
    newest = epoch_stake_newest()
    state = ChainSyncState.objects.filter(id=1).first()
    stale_since = state.failing_since if state and source in POLLED_SOURCES else None
    status: dict[str, Any] = {
        "source": source,
        "open_mode": open_eligibility(),
        "pool_id": settings.POOL_ID,
        "epochs_stored": EpochStakeImport.objects.aggregate(n=Count("epoch"))["n"],
        "newest_epoch": None
        if newest is None
        else {
            "epoch": newest.epoch,
            "delegators": newest.delegators,
            "total_lovelace": newest.total_lovelace,
            "source": newest.source,
            "imported_at": newest.imported_at.isoformat(),
        },
        "last_attempt_at": _iso(state and state.last_attempt_at),
        "last_success_at": _iso(state and state.last_success_at),
        "stale_since": _iso(stale_since),
        "last_error": state.last_error if state and stale_since else "",
        "sent": _sent(newest),
    }
    status["problems"] = (
        [f"chain source {source} stale since {status['stale_since']}: {status['last_error']}"]
        if stale_since
        else []
    )
    status["summary"] = _summary(status)
    return status


def _sent(newest: EpochStakeImport | None) -> dict[str, Any]:
    """What the other services have of the history: the newest epoch sent, and what the newest
    stored epoch waits for when it is not sent yet."""
    newest_sent = (
        EpochStakePublication.objects.order_by("-epoch").values_list("epoch", flat=True).first()
    )
    waiting = None
    if newest is not None and newest_sent != newest.epoch:
        waiting = {
            "epoch": newest.epoch,
            "missing_epochs": epoch_stake_missing_for_loyalty(epoch=newest.epoch),
        }
    return {"newest_epoch": newest_sent, "waiting": waiting}


def sending_summary(status: dict[str, Any]) -> str:
    """One line for people: which epochs the other services have (voting's eligibility and
    power read them), and why the newest stored one is not among them yet."""
    sent, waiting = status["sent"]["newest_epoch"], status["sent"]["waiting"]
    line = (
        "no epoch sent to the other services yet"
        if sent is None
        else f"sent to the other services through epoch {sent}"
    )
    if waiting is None:
        return line
    missing = waiting["missing_epochs"]
    if not missing:  # its window is complete: the next sync sends it
        return f"{line}; epoch {waiting['epoch']} is sent at the next sync"
    return (
        f"{line}; epoch {waiting['epoch']} waits for {_epochs(missing)} of its loyalty "
        f"window (LOYALTY_BACKFILL_EPOCHS={settings.LOYALTY_BACKFILL_EPOCHS}) to be stored"
    )


def _epochs(numbers: list[int]) -> str:
    """[495, 496, 497, 510] -> "epochs 495-497, 510"."""
    spans: list[list[int]] = []
    for number in numbers:
        if spans and spans[-1][1] == number - 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    text = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in spans)
    return f"{'epoch' if len(numbers) == 1 else 'epochs'} {text}"


def _summary(status: dict[str, Any]) -> str:
    """One line for people: what the source is and how fresh the stored history is."""
    if status["source"] == "none":
        return "chain source: none (open mode: every active delegator may vote)"
    if status["open_mode"]:
        return (
            f"{_source_summary(status)}; open mode (OPEN_ELIGIBILITY=true): every active "
            "delegator earns points and may vote"
        )
    return _source_summary(status)


def _source_summary(status: dict[str, Any]) -> str:
    newest = status["newest_epoch"]
    stored = (
        "nothing stored yet"
        if newest is None
        else f"newest epoch {newest['epoch']} ({_delegators(newest['delegators'])})"
    )
    line = f"chain source: {status['source']}, {stored}"
    if status["stale_since"]:
        return (
            f"{line}; STALE since {_readable(status['stale_since'])}: {status['last_error'][:200]}"
        )
    if status["last_success_at"]:
        return f"{line}; synced {_readable(status['last_success_at'])}"
    return line


def _delegators(count: int) -> str:
    return f"{count} delegator{'' if count == 1 else 's'}"


def _readable(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None
