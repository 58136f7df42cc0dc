"""Reads of the pool's stored stake history (services/stake_history.py writes it): one epoch's
distribution, and the state of the chain source for `manage.py chain_status`, `manage_all.py
status` and the admin: the newest stored epoch, the last good sync and, when the source fails,
"stale since" the first failure with its error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db.models import Count

from ..chain.sources import POLLED_SOURCES
from ..models import ChainSyncState, EpochStake, EpochStakeImport


def epoch_stake_distribution(*, epoch: int) -> dict[str, int] | None:
    """The pool's active stake per stake address in `epoch` (lovelace), or None when that epoch
    is not stored (unknown is not the same as no delegators)."""
    if not EpochStakeImport.objects.filter(epoch=epoch).exists():
        return None
    return dict(EpochStake.objects.filter(epoch_id=epoch).values_list("stake_address",
                                                                       "lovelace"))


def epoch_stake_newest() -> EpochStakeImport | None:
    return EpochStakeImport.objects.order_by("-epoch").first()


def chain_status() -> dict[str, Any]:
    source = settings.CHAIN_SOURCE
    newest = epoch_stake_newest()
    state = ChainSyncState.objects.filter(id=1).first()
    stale_since = state.failing_since if state and source in POLLED_SOURCES else None
    status: dict[str, Any] = {
        "source": source,
        "open_mode": source == "none",
        "pool_id": settings.POOL_ID,
        "epochs_stored": EpochStakeImport.objects.aggregate(n=Count("epoch"))["n"],
        "newest_epoch": None if newest is None else {
            "epoch": newest.epoch, "delegators": newest.delegators,
            "total_lovelace": newest.total_lovelace, "source": newest.source,
            "imported_at": newest.imported_at.isoformat()},
        "last_attempt_at": _iso(state and state.last_attempt_at),
        "last_success_at": _iso(state and state.last_success_at),
        "stale_since": _iso(stale_since),
        "last_error": state.last_error if state and stale_since else "",
    }
    status["problems"] = (
        [f"chain source {source} stale since {status['stale_since']}: {status['last_error']}"]
        if stale_since else [])
    status["summary"] = _summary(status)
    return status


def _summary(status: dict[str, Any]) -> str:
    """One line for people: what the source is and how fresh the stored history is."""
    if status["open_mode"]:
        return "chain source: none (open mode: every active delegator may vote)"
    newest = status["newest_epoch"]
    stored = ("nothing stored yet" if newest is None else
              f"newest epoch {newest['epoch']} ({_delegators(newest['delegators'])})")
    line = f"chain source: {status['source']}, {stored}"
    if status["stale_since"]:
        return (f"{line}; STALE since {_readable(status['stale_since'])}: "
                f"{status['last_error'][:200]}")
    if status["last_success_at"]:
        return f"{line}; synced {_readable(status['last_success_at'])}"
    return line


def _delegators(count: int) -> str:
    return f"{count} delegator{'' if count == 1 else 's'}"


def _readable(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None
