"""What the stored stake history and the chain source look like now, for `manage.py
chain_status`, `manage_all.py status` and the admin: the newest stored epoch, the last good sync
and, when the source fails, "stale since" the first failure with its error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db.models import Count

from ..models import ChainSyncState, EpochStakeImport
from .sources import POLLED_SOURCES
from .stake_history import delegators


def chain_status() -> dict[str, Any]:
    source = settings.CHAIN_SOURCE
    newest = EpochStakeImport.objects.order_by("-epoch").first()
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
        "last_error": state.last_error if stale_since else "",
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
              f"newest epoch {newest['epoch']} ({delegators(newest['delegators'])})")
    line = f"chain source: {status['source']}, {stored}"
    if status["stale_since"]:
        return (f"{line}; STALE since {_readable(status['stale_since'])}: "
                f"{status['last_error'][:200]}")
    if status["last_success_at"]:
        return f"{line}; synced {_readable(status['last_success_at'])}"
    return line


def _readable(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None
