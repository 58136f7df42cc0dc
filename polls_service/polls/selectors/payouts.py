"""Reads of payout records: a poll's transactions, and which transaction pays each cause."""

from __future__ import annotations

import dataclasses
import uuid

from django.db.models import Prefetch, QuerySet

from shared_events.core.schemas.polls import PayoutStatus
from shared_events.kit.errors import NotFound

from ..models import Payout, PayoutLine, Poll


def payouts_of_poll(*, poll: Poll) -> QuerySet[Payout]:
    """The poll's payout records, oldest first, each with its lines fetched (`lines.all()`,
    in order, with their causes)."""
    return (
        Payout.objects.filter(poll_id=poll.pk)
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=PayoutLine.objects.select_related("cause").order_by("position"),
            )
        )
        .order_by("recorded_at", "id")
    )


def payout_get(*, poll: Poll, payout_id: uuid.UUID) -> Payout:
    payout = payouts_of_poll(poll=poll).filter(pk=payout_id).first()
    if payout is None:
        raise NotFound(f"poll “{poll.title}” has no payout record {payout_id}")
    return payout


@dataclasses.dataclass(frozen=True)
class CausePayout:
    """What one cause's payout stands at: the transaction that paid it (or the latest that
    tried) and its state as seen from this cause."""

    cause_id: uuid.UUID
    tx_hash: str
    status: str  # a PayoutStatus value
    paid: bool
    verified: bool
    explorer_url: str
    expected_lovelace: int
    found_lovelace: int | None


def cause_payouts(*, poll: Poll) -> dict[uuid.UUID, CausePayout]:
    """Per cause with a payout record: the paying line if there is one (a cause paid in full by
    a transaction that paid another cause short counts as confirmed), else a pending one, else
    the latest that failed. Causes without any record are absent."""
    best: dict[uuid.UUID, tuple[int, CausePayout]] = {}
    for payout in payouts_of_poll(poll=poll):
        for line in payout.lines.all():
            paid = line.pays(payout.status)
            status = PayoutStatus.CONFIRMED if paid and payout.verified else payout.status
            rank = 2 if paid else 1 if payout.status == PayoutStatus.PENDING else 0
            candidate = CausePayout(
                cause_id=line.cause_id,
                tx_hash=payout.tx_hash,
                status=str(status),
                paid=paid,
                verified=payout.verified,
                explorer_url=payout.explorer_url,
                expected_lovelace=line.expected_lovelace,
                found_lovelace=line.found_lovelace,
            )
            # Later records replace earlier ones of the same rank (oldest first above).
            if line.cause_id not in best or rank >= best[line.cause_id][0]:
                if line.cause_id in best and best[line.cause_id][0] == 2 and rank == 2:
                    continue  # the first transaction that paid it stays the one shown
                best[line.cause_id] = (rank, candidate)
    return {cause: entry for cause, (_, entry) in best.items()}


def causes_paid(*, poll: Poll) -> set[uuid.UUID]:
    return {cause for cause, entry in cause_payouts(poll=poll).items() if entry.paid}


def causes_awaiting(*, poll: Poll) -> dict[uuid.UUID, str]:
    """Causes in a pending record: cause id → that record's tx hash."""
    return {
        line.cause_id: tx_hash
        for line, tx_hash in (
            (line, payout.tx_hash)
            for payout in payouts_of_poll(poll=poll).filter(status=PayoutStatus.PENDING)
            for line in payout.lines.all()
        )
    }
