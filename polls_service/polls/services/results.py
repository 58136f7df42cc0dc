"""voting_service's tallies, replicated here, and the final results they produce.

A poll is finalized once both have happened, in whichever order they arrive: it is closed (or
closing) here, and voting's tally of it is final. Both paths (the tally handler, and closing the
poll) call `poll_finalize_if_ready`, under the poll's row lock, so it happens exactly once.

The final tally says from which instant voting accepted no ballot, and finalizing records it as
the poll's closes_at: a revision counts if and only if voting accepted it before the closes_at
polls shows. It is the requested one when voting heard of the close in time, later when it
heard late (a stalled relay), earlier when voting's clock ran ahead.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from shared_events.core.consumer.replicas import replica_apply
from shared_events.core.outbox.writer import PendingEvent, record_events
from shared_events.core.schemas.polls import CauseResult, PollResultState
from shared_events.core.schemas.voting import TallyState

from ..models import Cause, Poll, PollResult, PollStatus, TallyReplica
from ..payouts import share_of, split_fund

log = logging.getLogger(__name__)


class TallyMismatch(ValueError):
    """A final tally that cannot be the count of this poll: finalizing from it would pay the
    wrong causes, so it is refused (and, from the consumer, dead-lettered for a look)."""


@transaction.atomic
def tally_apply_state(*, state: TallyState, version: int) -> bool:
    """Store the tally if newer; if it is final and the poll is closed, finalize the poll in the
    same transaction. Returns whether the stored tally changed."""
    changed = replica_apply(
        TallyReplica,
        pk=state.poll_id,
        version=version,
        deleted=state.deleted,
        fields={
            "causes": [
                {"cause_id": c.cause_id, "points": c.points, "voters": c.voters}
                for c in state.causes
            ],
            "ballots": state.ballots,
            "total_points": state.total_points,
            "final": state.final,
            "ballots_digest": state.ballots_digest or "",
            "receipts_digest": state.receipts_digest or "",
            "computed_at": datetime.fromisoformat(state.computed_at),
            "closes_at": (datetime.fromisoformat(state.closes_at) if state.closes_at else None),
            "power_formula": state.power_formula or "",
            "snapshot_epoch": state.snapshot_epoch,
            "eligible": state.eligible,
            "total_power": state.total_power,
        },
    )
    if changed and state.final and not state.deleted:
        poll_finalize_if_ready(poll_id=uuid.UUID(state.poll_id), strict=True)
    return changed


def poll_finalize_if_ready(*, poll_id: uuid.UUID, strict: bool = False) -> bool:
    """Finalize the poll if it is closed or closing and its final tally is here. Returns
    whether it did.

    `strict` (the tally handler) lets a TallyMismatch fail the message, so it is retried and
    then dead-lettered; closing a poll passes False, so a bad tally never stops the close."""
    with transaction.atomic():
        poll = Poll.objects.select_for_update().filter(pk=poll_id).first()
        if poll is None or poll.status not in (PollStatus.CLOSING, PollStatus.CLOSED):
            return False
        tally = TallyReplica.objects.filter(pk=poll_id, final=True, is_deleted=False).first()
        if tally is None:
            return False
        try:
            with transaction.atomic():
                _finalize(poll, tally)
        except TallyMismatch:
            if strict:
                raise
            log.exception("poll %s stays closed: its final tally does not fit", poll_id)
            return False
        return True


def _check_power(poll: Poll, tally: TallyReplica) -> None:
    """A count made with another formula or another epoch's stake than the poll's would pay
    out by power the poll never promised. A voting that predates voting power says neither."""
    said = {"power_formula": tally.power_formula or None, "snapshot_epoch": tally.snapshot_epoch}
    for name, counted in said.items():
        own = getattr(poll, name)
        if counted is not None and own is not None and counted != own:
            raise TallyMismatch(
                f"the final tally of poll {poll.pk} was counted with "
                f"{name} {counted}, but the poll's is {own}"
            )


def _finalize(poll: Poll, tally: TallyReplica) -> None:
    offered = poll.cause_ids()
    counted = tally.points_by_cause()
    strangers = sorted(set(counted) - {str(c) for c in offered})
    if strangers:
        raise TallyMismatch(
            f"the final tally of poll {poll.pk} counts causes the poll does "
            f"not offer: {', '.join(strangers)}"
        )
    points = {cause: counted.get(str(cause), {}).get("points", 0) for cause in offered}
    total = sum(points.values())
    if total != tally.total_points:
        raise TallyMismatch(
            f"the final tally of poll {poll.pk} says {tally.total_points} "
            f"points in all but its causes add up to {total}"
        )
    _check_power(poll, tally)
    payouts = split_fund(poll.fund_lovelace, points)
    results = PollResult.objects.bulk_create(
        [
            PollResult(
                poll=poll,
                cause_id=cause,
                position=position,
                points=points[cause],
                voters=counted.get(str(cause), {}).get("voters", 0),
                share=share_of(points[cause], total),
                payout_lovelace=payouts[cause],
            )
            for position, cause in enumerate(offered)
        ]
    )
    if tally.closes_at is not None:
        # What voting enforced (the check constraint wants it after opens_at; voting accepts
        # nothing before opens_at, so moving it there changes what counts in nothing).
        poll.closes_at = max(tally.closes_at, poll.opens_at + timedelta(microseconds=1))
    poll.status = PollStatus.FINALIZED
    poll.total_points = total
    poll.ballot_count = tally.ballots
    poll.ballots_digest = tally.ballots_digest
    poll.receipts_digest = tally.receipts_digest
    poll.finalized_at = timezone.now()
    poll.no_payouts = total == 0
    poll.eligible_voters = tally.eligible
    poll.total_power = tally.total_power
    poll.save()
    _publish_results(poll, results)
    log.info(
        "poll %s finalized: %d points from %d ballots, %s",
        poll.pk,
        total,
        tally.ballots,
        "no payouts" if poll.no_payouts else f"{poll.fund_lovelace} lovelace paid out",
    )


def _publish_results(poll: Poll, results: list[PollResult]) -> None:
    """`polls.result`, once, in the finalizing transaction: what each cause received. Final
    results never change, so it is version 1 of its aggregate (the poll's id) for good."""
    titles = dict(
        Cause.objects.filter(pk__in=[r.cause_id for r in results]).values_list("pk", "title")
    )
    state = PollResultState(
        poll_id=str(poll.pk),
        fund_lovelace=poll.fund_lovelace,
        causes=[
            CauseResult(
                cause_id=str(r.cause_id),
                title=titles[r.cause_id],
                points=r.points,
                voters=r.voters,
                payout_lovelace=r.payout_lovelace,
            )
            for r in results
        ],
        ballots=poll.ballot_count or 0,
        receipts_digest=poll.receipts_digest or None,
        finalized_at=poll.finalized_at.isoformat() if poll.finalized_at else "",
    )
    record_events([PendingEvent("polls.result.created", str(poll.pk), 1, state)])
