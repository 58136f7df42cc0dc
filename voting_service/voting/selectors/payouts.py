"""How a poll's causes were paid, from polls' replicated results and payout transactions: for
the delegators' results page and their history."""

from __future__ import annotations

import uuid
from typing import Any

from shared_events.core.schemas.polls import PayoutStatus

from ..models import PayoutReplica, PollResultReplica

# A cause with a payout but no transaction recorded yet; a cause whose payout is 0.
UNPAID = "unpaid"
NO_PAYOUT = "no_payout"


def _line_pays(status: str, line: dict[str, Any]) -> bool:
    """As polls decides it: confirmed by hand, or deep enough on chain with the whole payout
    at the address (a mismatched transaction may still have paid its other causes in full)."""
    if status == PayoutStatus.CONFIRMED_BY_HAND:
        return True
    found = line.get("found_lovelace") or 0
    return status in (PayoutStatus.CONFIRMED, PayoutStatus.MISMATCH) and (
        found >= line["expected_lovelace"]
    )


def poll_payouts_per_cause(*, poll_id: uuid.UUID) -> list[dict[str, Any]]:
    """One dict per cause of the poll's final results, in their order: `cause_title`,
    `lovelace` (its payout), `tx_hash` ("" while none), `status` (a PayoutStatus value, or
    "unpaid" / "no_payout"), `explorer_url` ("" while none, or with no explorer configured).
    Empty until polls' final results are here."""
    result = PollResultReplica.objects.filter(pk=poll_id, is_deleted=False).first()
    if result is None:
        return []
    # Per cause: the first transaction that paid it, else a pending one, else the latest.
    chosen: dict[str, tuple[int, PayoutReplica, str]] = {}
    for payout in PayoutReplica.objects.filter(poll_id=poll_id, is_deleted=False).order_by(
        "recorded_at", "id"
    ):
        for line in payout.lines:
            paid = _line_pays(payout.status, line)
            rank = 2 if paid else 1 if payout.status == PayoutStatus.PENDING else 0
            status = PayoutStatus.CONFIRMED if paid and payout.verified else payout.status
            held = chosen.get(line["cause_id"])
            if held is None or rank > held[0] or (rank == held[0] and rank < 2):
                chosen[line["cause_id"]] = (rank, payout, str(status))
    rows = []
    for cause in result.causes:
        entry = chosen.get(cause["cause_id"])
        if entry is None:
            status = UNPAID if cause["payout_lovelace"] > 0 else NO_PAYOUT
            tx_hash, explorer_url = "", ""
        else:
            _, payout, status = entry
            tx_hash, explorer_url = payout.tx_hash, payout.explorer_url
        rows.append(
            {
                "cause_title": cause["title"],
                "lovelace": cause["payout_lovelace"],
                "tx_hash": tx_hash,
                "status": status,
                "explorer_url": explorer_url,
            }
        )
    return rows
