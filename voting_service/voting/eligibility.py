"""Who may cast or retract a ballot, in which poll, with what points: every rule of a ballot
that depends on what voting knows, in one place.

The rules read the rows a write has locked (`services.ballot_sql`) and raise the refusal,
worded from those rows: `Refused` (403) for the voter, `NotFound` (404) for a poll or ballot
not here, Django's ValidationError (400) for a poll not open or allocations it cannot take.
Voting power is per poll (the same power may be given in every poll) and frozen
(`services.power`): in the open mode the voter's points at their first need in the poll; in
chain mode the power table's row of the voter's verified stake address (`voter_power`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

from shared_events.core.schemas.polls import PollStatus
from shared_events.kit.errors import Conflict, NotFound, Refused

from .allocations import AllocationIn

if TYPE_CHECKING:
    from .models import Ballot, PollReplica, Voter

NOT_KNOWN_YET = "Your account is not known here yet; try again in a few seconds."
NO_SUCH_POLL = "No such poll."
NO_BALLOT = "You have no ballot in this poll."
POWER_NOT_COMPUTED = "Voting power for this poll is not computed yet; try again later."
NO_STAKE_ADDRESS = "Not eligible: your account has no proven stake address."
ADDRESS_HELD_ELSEWHERE = (
    "Not eligible: another account has voted in this poll with the power of your stake "
    "address (it was that account's when it voted); an address's power counts once per poll."
)


@dataclass(frozen=True)
class PowerRead:
    """What a write read of the voter's power in the poll, under its locks. The default is the
    open mode with nothing frozen yet."""

    open_mode: bool = True
    # Open mode: the voter's frozen points in the poll, None before their first need. Chain
    # mode: the power of the table's row the voter's ballot holds (`address_to_hold`), None
    # before their first cast in the poll.
    voter_power: int | None = None
    # Chain mode: whether the poll's table is frozen, and its cap (None: no cap).
    table_frozen: bool = False
    cap: int | None = None
    # Chain mode: whether the table has a row of the voter's stake address, and its power
    # (None in a points-formula row whose voter was not known at the freeze).
    address_in_table: bool = False
    address_power: int | None = None
    # Chain mode: whether that row is held by another voter's ballot.
    address_held_elsewhere: bool = False
    # Chain mode: the address's stake in the snapshot epoch (None: not in the distribution).
    snapshot_lovelace: int | None = None


@dataclass(frozen=True)
class PowerFreeze:
    """Power a write freezes because it is its first need: a new row of the voter (open mode,
    `stake_address` None), or the power of their address's row (chain mode, points formula)."""

    uncapped: int
    power: int
    stake_address: str | None = None


def voter_power(
    *, voter: Voter, poll: PollReplica, power: PowerRead
) -> tuple[int, PowerFreeze | None]:
    """The voter's power in the poll and what to freeze for it, or the refusal: `Conflict`
    (409) while chain mode's table is not frozen, `Refused` (403) naming why not eligible."""
    if power.open_mode:
        if power.voter_power is not None:
            return power.voter_power, None
        return voter.points, PowerFreeze(uncapped=voter.points, power=voter.points)
    if not power.table_frozen:
        raise Conflict(POWER_NOT_COMPUTED)
    if power.voter_power is not None:
        # Held since the voter's first cast, whichever address the account holds now.
        return power.voter_power, None
    if not voter.stake_address:
        raise Refused(NO_STAKE_ADDRESS)
    if not power.address_in_table:
        if power.snapshot_lovelace is None:
            raise Refused(
                "Not eligible: your stake address is not in the pool's stake "
                f"distribution of epoch {poll.snapshot_epoch}."
            )
        raise Refused(
            f"Not eligible: your stake in epoch {poll.snapshot_epoch}, "
            f"{power.snapshot_lovelace} lovelace, is below this poll's minimum of "
            f"{poll.min_stake_lovelace} lovelace."
        )
    if power.address_held_elsewhere:
        raise Refused(ADDRESS_HELD_ELSEWHERE)
    if power.address_power is not None:
        return power.address_power, None
    capped = voter.points if power.cap is None else min(voter.points, power.cap)
    return capped, PowerFreeze(
        uncapped=voter.points, power=capped, stake_address=voter.stake_address
    )


def address_to_hold(*, voter: Voter, power: PowerRead) -> str | None:
    """Chain mode: the stake address whose row of the table a cast takes hold of for the voter,
    for the rest of the poll (their first cast there; None once they hold one). A stake address
    may move to another account during a poll (a new proof unlinks it from the old one): its
    power counts once all the same, with the first account that voted with it, which keeps it
    even after a retraction or after the address moved away. Call it after `voter_power`
    accepted the cast."""
    if power.open_mode or power.voter_power is not None:
        return None
    return voter.stake_address


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


def ballot_cast_check(
    *,
    voter: Voter | None,
    poll: PollReplica | None,
    allocations: Sequence[AllocationIn],
    now: datetime,
    power: PowerRead = PowerRead(),  # noqa: B008 (frozen, so shared safely)
) -> tuple[Voter, PollReplica, tuple[int, PowerFreeze | None]]:
    """Raise the refusal of this cast, if any; otherwise the voter, the poll, and the voter's
    power with what to freeze for it (`voter_power`)."""
    voter, poll = _voter_and_poll(voter, poll)
    _check_open(poll, now)
    in_poll = {str(c) for c in poll.causes}
    foreign = [str(a["cause"]) for a in allocations if str(a["cause"]) not in in_poll]
    if foreign:
        raise ValidationError(
            {"allocations": ["Not a cause of this poll: " + ", ".join(foreign) + "."]}
        )
    has, freeze = voter_power(voter=voter, poll=poll, power=power)
    total = sum(a["points"] for a in allocations)
    if total > has:
        raise ValidationError(
            {"allocations": [f"These allocations total {total} points; you have {has}."]}
        )
    return voter, poll, (has, freeze)


def ballot_retract_check(
    *, voter: Voter | None, poll: PollReplica | None, ballot: Ballot | None, now: datetime
) -> tuple[Voter, PollReplica, Ballot]:
    """Raise the refusal of this retraction, if any; the voter, poll and ballot otherwise."""
    voter, poll = _voter_and_poll(voter, poll)
    if ballot is None or ballot.is_retracted:
        raise NotFound(NO_BALLOT)
    _check_open(poll, now)
    return voter, poll, ballot


def _voter_and_poll(voter: Voter | None, poll: PollReplica | None) -> tuple[Voter, PollReplica]:
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
    elif (
        poll.status in (PollStatus.CLOSED, PollStatus.FINALIZED, PollStatus.PAID)
        or now >= poll.closes_at
    ):
        message = "This poll is closed."
    elif not poll.takes_ballots or now < poll.opens_at:
        message = f"This poll is not open yet; it opens at {poll.opens_at.isoformat()}."
    else:
        return
    raise ValidationError({"poll": [message]})
