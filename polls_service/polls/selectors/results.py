"""A poll's results as a reader may see them: voting's live tally while the poll runs (if it
shows results live), the stored final results and payouts once it is finalized."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet

from shared_events.kit.errors import Refused

from ..models import (
    FINAL_STATUSES,
    Cause,
    Poll,
    PollResult,
    PollStatus,
    ResultsVisibility,
    TallyReplica,
)
from ..payouts import share_of
from .payouts import CausePayout, cause_payouts


@dataclasses.dataclass(frozen=True)
class CauseResult:
    cause_id: uuid.UUID
    title: str
    points: int
    voters: int
    share: Decimal
    payout_lovelace: int | None  # known once the poll is finalized
    # The transaction that pays it (or the latest that tried), once one is recorded.
    payout: CausePayout | None = None


@dataclasses.dataclass(frozen=True)
class PollResults:
    poll_id: uuid.UUID
    status: str
    results_visibility: str
    final: bool
    fund_lovelace: int
    total_points: int
    ballots: int
    ballots_digest: str | None
    receipts_digest: str | None
    computed_at: datetime | None
    finalized_at: datetime | None
    no_payouts: bool
    message: str
    causes: list[CauseResult]
    # Voting power: the formula and snapshot epoch it was computed with, how many delegators
    # had power and its sum (None until voting says; a voting that predates it never does).
    power_formula: str
    snapshot_epoch: int | None
    eligible: int | None
    total_power: int | None


class ResultsHidden(Refused):
    """The results of this poll are not shown now (403); the message says when they will be."""


def _hidden_because(poll: Poll) -> str | None:
    after_close = poll.results_visibility == ResultsVisibility.AFTER_CLOSE
    if poll.status in (PollStatus.DRAFT, PollStatus.SCHEDULED):
        return "This poll has not opened yet; its results are shown once it " + (
            "closes." if after_close else "opens."
        )
    if poll.status == PollStatus.CANCELLED:
        return "This poll was cancelled; it has no results."
    if poll.status in (PollStatus.OPEN, PollStatus.CLOSING) and after_close:
        return (
            f"The results of this poll are shown after it closes, at {poll.closes_at.isoformat()}."
        )
    return None


def poll_results(*, poll: Poll) -> PollResults:
    """What the poll's results page shows: the final results once finalized, the last tally
    from voting_service before that (while open only if the poll shows results live). Raises
    ResultsHidden otherwise."""
    reason = _hidden_because(poll)
    if reason:
        raise ResultsHidden(reason)
    if poll.status in FINAL_STATUSES:
        return _final_results(poll)
    return _tally_results(poll)


def poll_results_for_operator(*, poll: Poll) -> PollResults:
    """The same results, whatever the poll's visibility says: operators see the live count."""
    return _final_results(poll) if poll.status in FINAL_STATUSES else _tally_results(poll)


def _final_results(poll: Poll) -> PollResults:
    rows = poll_final_results(poll=poll)
    payouts = cause_payouts(poll=poll)
    return PollResults(
        poll_id=poll.pk,
        status=poll.status,
        results_visibility=poll.results_visibility,
        final=True,
        fund_lovelace=poll.fund_lovelace,
        total_points=poll.total_points or 0,
        ballots=poll.ballot_count or 0,
        ballots_digest=poll.ballots_digest or None,
        receipts_digest=poll.receipts_digest or None,
        computed_at=poll.finalized_at,
        finalized_at=poll.finalized_at,
        no_payouts=poll.no_payouts,
        message=(
            "Nobody allocated points in this poll, so there are no payouts."
            if poll.no_payouts
            else "Final results; every payout is confirmed."
            if poll.status == PollStatus.PAID
            else "Final results and payouts."
        ),
        causes=[
            CauseResult(
                cause_id=r.cause_id,
                title=r.cause.title,
                points=r.points,
                voters=r.voters,
                share=r.share,
                payout_lovelace=r.payout_lovelace,
                payout=payouts.get(r.cause_id),
            )
            for r in rows
        ],
        # Finalizing checked that the final tally was counted with the poll's own.
        power_formula=poll.power_formula,
        snapshot_epoch=poll.snapshot_epoch,
        eligible=poll.eligible_voters,
        total_power=poll.total_power,
    )


def _tally_results(poll: Poll) -> PollResults:
    tally = TallyReplica.objects.filter(pk=poll.pk, is_deleted=False).first()
    counted = tally.points_by_cause() if tally else {}
    total = tally.total_points if tally else 0
    offered = Cause.objects.filter(poll_entries__poll=poll).order_by("poll_entries__position")
    if poll.status == PollStatus.CLOSED:
        message = (
            "The poll is closed; the final results and payouts follow once voting has "
            "sent its final count."
        )
    elif poll.status == PollStatus.CLOSING:
        message = (
            f"The poll is closing: ballots are taken until {poll.closes_at.isoformat()}"
            " (or until voting hears of the close, if later); the final results follow "
            "with voting's final count."
        )
    elif tally is None or not tally.ballots:
        message = "No ballots counted yet."
    else:
        message = "Live tally: the counts change until the poll closes."
    return PollResults(
        poll_id=poll.pk,
        status=poll.status,
        results_visibility=poll.results_visibility,
        final=False,
        fund_lovelace=poll.fund_lovelace,
        total_points=total,
        ballots=tally.ballots if tally else 0,
        ballots_digest=(tally.ballots_digest or None) if tally else None,
        receipts_digest=(tally.receipts_digest or None) if tally else None,
        computed_at=tally.computed_at if tally else None,
        finalized_at=None,
        no_payouts=False,
        message=message,
        causes=[
            CauseResult(
                cause_id=c.pk,
                title=c.title,
                points=counted.get(str(c.pk), {}).get("points", 0),
                voters=counted.get(str(c.pk), {}).get("voters", 0),
                share=share_of(counted.get(str(c.pk), {}).get("points", 0), total),
                payout_lovelace=None,
            )
            for c in offered
        ],
        # What voting says it applies; the poll's own settings until it says.
        power_formula=(
            tally.power_formula if tally and tally.power_formula else poll.power_formula
        ),
        snapshot_epoch=(
            tally.snapshot_epoch
            if tally and tally.snapshot_epoch is not None
            else poll.snapshot_epoch
        ),
        eligible=tally.eligible if tally else None,
        total_power=tally.total_power if tally else None,
    )


def poll_final_results(*, poll: Poll) -> QuerySet[PollResult]:
    """The stored final results (empty until the poll is finalized), for the admin and CSV."""
    return PollResult.objects.filter(poll_id=poll.pk).select_related("cause").order_by("position")
