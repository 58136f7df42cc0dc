"""Casting, replacing and retracting ballots.

Each write is one pass through `ballot_sql.ballot_write`: it locks the voter (an advisory
lock) and the poll's row and reads them with the voter's ballot; the rules
(`voting.eligibility`) then refuse it, worded from those rows, or it writes the ballot's next
revision, in the same transaction.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime

import uuid6
from django.utils import timezone

from .. import eligibility, metrics
from ..allocations import AllocationIn, allocations_validate
from ..models import Allocation, Ballot, BallotRevision, PollReplica, Voter
from ..receipts import new_nonce, revision_receipt
from . import ballot_sql
from .ballot_sql import BallotWrite, Locked


def ballot_cast(
    *, voter_id: uuid.UUID, poll_id: uuid.UUID, allocations: Sequence[AllocationIn]
) -> tuple[Ballot, bool]:
    """Cast or replace the voter's ballot. Returns the ballot and whether it was new.

    Replacing is atomic: the old allocations go and the new ones come in one transaction, and
    both versions stay in the revision history."""
    given = allocations_validate(allocations)

    def cast(locked: Locked) -> BallotWrite:
        now = timezone.now()
        voter, poll, (power, freeze) = eligibility.ballot_cast_check(
            voter=locked.voter, poll=locked.poll, allocations=given, now=now, power=locked.power
        )
        write = _next_revision(
            voter=voter,
            poll=poll,
            ballot=locked.ballot,
            kind=BallotRevision.Kind.CAST,
            allocations=given,
            now=now,
            power=power,
        )
        return dataclasses.replace(
            write,
            power_freeze=freeze,
            power_hold=eligibility.address_to_hold(voter=voter, power=locked.power),
        )

    written = ballot_sql.ballot_write(voter_id=voter_id, poll_id=poll_id, plan=cast)
    metrics.ballot_written(poll_id=poll_id, action="cast" if written.created else "revised")
    return written.ballot, written.created


def ballot_retract(*, voter_id: uuid.UUID, poll_id: uuid.UUID) -> Ballot:
    """Withdraw the voter's ballot while the poll is open. The ballot row and its history stay;
    the retraction is a revision of its own."""

    def retract(locked: Locked) -> BallotWrite:
        now = timezone.now()
        voter, poll, ballot = eligibility.ballot_retract_check(
            voter=locked.voter, poll=locked.poll, ballot=locked.ballot, now=now
        )
        return _next_revision(
            voter=voter,
            poll=poll,
            ballot=ballot,
            kind=BallotRevision.Kind.RETRACT,
            allocations=[],
            now=now,
            power=_power_of_retraction(voter, locked),
        )

    written = ballot_sql.ballot_write(voter_id=voter_id, poll_id=poll_id, plan=retract)
    metrics.ballot_written(poll_id=poll_id, action="retracted")
    return written.ballot


def new_ballot_id() -> uuid.UUID:
    """A time-ordered UUID (version 7, RFC 9562, from the uuid6 library: Unix milliseconds,
    then random bits). The indexes that lead with a ballot's id (the ballot's own, its
    revisions' and its allocations') then take new ballots at their right edge, a few pages,
    not at a random page each: with random ids every ballot dirtied pages spread over the whole
    index, more of them as ballots accumulate, each a full-page image in the WAL after a
    checkpoint. The id is never shown to a voter (receipts do not carry it)."""
    return uuid.UUID(int=uuid6.uuid7().int)  # the standard class, as every other id here


def _power_of_retraction(voter: Voter, locked: Locked) -> int:
    """The power a retraction records: the frozen one if any, else the voter's points (a
    retraction needs no power, so it freezes none)."""
    power = locked.power
    if power.voter_power is not None:
        return power.voter_power
    if power.open_mode:
        return voter.points
    return power.address_power if power.address_power is not None else voter.points


def _next_revision(
    *,
    voter: Voter,
    poll: PollReplica,
    ballot: Ballot | None,
    kind: str,
    allocations: Sequence[AllocationIn],
    now: datetime,
    power: int,
) -> BallotWrite:
    """The rows of the ballot's next revision, unsaved: the ballot (new if None) moved on to
    it, with its receipt chained to the previous one, and its allocations (none for a
    retraction)."""
    created = ballot is None
    was_counted = ballot is not None and ballot.retracted_at is None
    if ballot is None:
        ballot = Ballot(
            id=new_ballot_id(), poll=poll, voter=voter, created_at=now, revision=0, receipt=""
        )
    number = ballot.revision + 1
    nonce = new_nonce()
    previous = ballot.receipt or None
    receipt = revision_receipt(
        poll_id=poll.pk,
        previous=previous,
        number=number,
        kind=kind,
        at=now,
        allocations=[(a["cause"], a["points"]) for a in allocations],
        nonce=nonce,
    )
    ballot.revision, ballot.receipt, ballot.updated_at = number, receipt, now
    ballot.retracted_at = now if kind == BallotRevision.Kind.RETRACT else None
    revision = BallotRevision(
        ballot=ballot,
        number=number,
        kind=kind,
        allocations=[{"cause": str(a["cause"]), "points": a["points"]} for a in allocations],
        total_points=sum(a["points"] for a in allocations),
        voter_points=power,
        created_at=now,
        receipt=receipt,
        previous_receipt=previous,
        nonce=nonce,
    )
    rows = [
        Allocation(ballot=ballot, poll=poll, cause_id=a["cause"], points=a["points"], position=i)
        for i, a in enumerate(allocations)
    ]
    counted = kind != BallotRevision.Kind.RETRACT
    return BallotWrite(
        ballot=ballot,
        created=created,
        allocations=rows,
        revision=revision,
        participation=None if counted == was_counted else counted,
    )
