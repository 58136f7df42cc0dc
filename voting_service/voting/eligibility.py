"""Who may cast or retract a ballot, in which poll, with what points: every rule of a ballot
that depends on what voting knows, in one place.

The rules read the rows a write has locked (`services.ballot_sql`) and raise the refusal,
worded from those rows: `Refused` (403) for the voter, `NotFound` (404) for a poll or ballot
not here, Django's ValidationError (400) for a poll not open or allocations it cannot take.
Voting power is the voter's points, per poll: the same points may be given in every poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

from shared_events.core.schemas.polls import PollStatus
from shared_events.kit.errors import NotFound, Refused

from .allocations import AllocationIn

if TYPE_CHECKING:
    from .models import Ballot, PollReplica, Voter

NOT_KNOWN_YET = "Your account is not known here yet; try again in a few seconds."
NO_SUCH_POLL = "No such poll."
NO_BALLOT = "You have no ballot in this poll."


def voter_refusal(voter: Voter | None) -> str | None:
    """Why this account may not vote, or None: it must be an active delegator in voting's
    replica of accounts, whatever its token claims."""
    if voter is None:
        # Registration reaches voting moments later; until then there is no voter.
        return NOT_KNOWN_YET
    if voter.is_deleted:
        return "Your account was deleted; it cannot vote."
    if not voter.is_active:
        return "Your account is deactivated; it cannot vote."
    if voter.role != "delegator":
        return f"Only delegators vote; this account is {voter.role!r}."
    return None


def ballot_cast_check(*, voter: Voter | None, poll: PollReplica | None,
                      allocations: Sequence[AllocationIn], now: datetime
                      ) -> tuple[Voter, PollReplica]:
    """Raise the refusal of this cast, if any; the voter and poll otherwise."""
    voter, poll = _voter_and_poll(voter, poll)
    _check_open(poll, now)
    in_poll = {str(c) for c in poll.causes}
    foreign = [str(a["cause"]) for a in allocations if str(a["cause"]) not in in_poll]
    if foreign:
        raise ValidationError({"allocations": [
            "Not a cause of this poll: " + ", ".join(foreign) + "."]})
    total = sum(a["points"] for a in allocations)
    if total > voter.points:
        raise ValidationError({"allocations": [
            f"These allocations total {total} points; you have {voter.points}."]})
    return voter, poll


def ballot_retract_check(*, voter: Voter | None, poll: PollReplica | None,
                         ballot: Ballot | None, now: datetime
                         ) -> tuple[Voter, PollReplica, Ballot]:
    """Raise the refusal of this retraction, if any; the voter, poll and ballot otherwise."""
    voter, poll = _voter_and_poll(voter, poll)
    if ballot is None or ballot.is_retracted:
        raise NotFound(NO_BALLOT)
    _check_open(poll, now)
    return voter, poll, ballot


def _voter_and_poll(voter: Voter | None, poll: PollReplica | None
                    ) -> tuple[Voter, PollReplica]:
    refusal = voter_refusal(voter)
    if refusal is not None:
        raise Refused(refusal)
    assert voter is not None
    # Unknown here, deleted at its source, or a draft (shown to nobody, as `selectors.poll_get`).
    if poll is None or poll.is_deleted or poll.status == PollStatus.DRAFT:
        raise NotFound(NO_SUCH_POLL)
    return voter, poll


def _check_open(poll: PollReplica, now: datetime) -> None:
    """Open by its replicated status *and* by the clock: polls_service may publish `closed` a
    moment after closes_at, and no ballot may slip into that moment. A closing poll takes
    ballots like an open one until its closes_at (`services.closing`)."""
    if poll.status == PollStatus.CANCELLED:
        message = "This poll was cancelled."
    elif poll.status in (PollStatus.CLOSED, PollStatus.FINALIZED) or now >= poll.closes_at:
        message = "This poll is closed."
    elif not poll.takes_ballots or now < poll.opens_at:
        message = f"This poll is not open yet; it opens at {poll.opens_at.isoformat()}."
    else:
        return
    raise ValidationError({"poll": [message]})
