"""Casting, replacing and retracting ballots.

Every write runs in one transaction that takes two locks, always in this order:

1. The voter's replica row, FOR UPDATE. Two ballots of one voter (a double click, two devices)
   serialize here, so there is exactly one ballot and its allocations are one revision's, never
   a mix. The lock is per voter, not per poll: a poll row locked for update by every ballot
   would be one hot row that all voters queue on.
2. The poll's replica row, FOR SHARE. Ballots of different voters do not block one another, but
   whatever closes the poll here (the consumer applying its close, or the tally task closing a
   `closing` poll at its closes_at, see `services.closing`) locks the row FOR UPDATE, so it
   waits for the ballots in flight, and a ballot that starts after it sees `closed`. So the
   final tally, computed in that same transaction, counts every accepted ballot, and no ballot
   commits after it.

No deadlock with the consumer: it applies one stream per transaction, so it never holds a voter
row (ACCOUNTS) and a poll row (POLLS) at once.

A cast that passes every rule is written in raw SQL (`ballot_sql`, the hot path); the ORM reads
below only word the refusal of one that does not.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from ..models import Allocation, Ballot, BallotRevision, PollReplica, PollStatus, Voter
from ..receipts import new_nonce, revision_receipt
from . import ballot_sql
from .locks import poll_lock_shared


class AllocationIn(TypedDict):
    cause: uuid.UUID
    points: int


NOT_KNOWN_YET = "Your account is not known here yet; try again in a few seconds."
NO_BALLOT = "You have no ballot in this poll."
EMPTY_BALLOT = "Give at least one allocation."


def _normalized(allocations: Sequence[AllocationIn]) -> list[AllocationIn]:
    """What can be checked without the database (the API's serializer checks types first, so
    this matters for other callers)."""
    if not allocations:
        raise ValidationError({"allocations": [EMPTY_BALLOT]})
    result: list[AllocationIn] = []
    for allocation in allocations:
        points = allocation["points"]
        if isinstance(points, bool) or not isinstance(points, int) or points < 0:
            raise ValidationError({"allocations": ["Points must be whole numbers, zero or more."]})
        try:
            cause = uuid.UUID(str(allocation["cause"]))
        except ValueError:
            raise ValidationError({"allocations": ["A cause must be a cause id."]}) from None
        result.append({"cause": cause, "points": points})
    seen: set[uuid.UUID] = set()
    repeated: list[uuid.UUID] = []
    for allocation in result:
        cause = allocation["cause"]
        if cause in seen and cause not in repeated:
            repeated.append(cause)
        seen.add(cause)
    if repeated:
        raise ValidationError({"allocations": [
            "Each cause may appear only once; repeated: " + ", ".join(map(str, repeated)) + "."]})
    if not any(a["points"] > 0 for a in result):
        raise ValidationError({"allocations": ["Give at least one cause more than zero points."]})
    return result


def _lock_voter(voter_id: uuid.UUID) -> Voter:
    voter = Voter.objects.select_for_update().filter(pk=voter_id).first()
    if voter is None:
        # Registration reaches voting moments later; until then there is no voter.
        raise PermissionDenied(NOT_KNOWN_YET)
    if voter.is_deleted:
        raise PermissionDenied("Your account was deleted; it cannot vote.")
    if not voter.is_active:
        raise PermissionDenied("Your account is deactivated; it cannot vote.")
    if voter.role != "delegator":
        raise PermissionDenied(f"Only delegators vote; this account is {voter.role!r}.")
    return voter


def _check_open(poll: PollReplica) -> None:
    """Open by its replicated status *and* by the clock: polls_service may publish `closed` a
    moment after closes_at, and no ballot may slip into that moment."""
    now = timezone.now()
    if poll.status == PollStatus.CANCELLED:
        message = "This poll was cancelled."
    elif poll.status in (PollStatus.CLOSED, PollStatus.FINALIZED) or now >= poll.closes_at:
        message = "This poll is closed."
    elif not poll.takes_ballots or now < poll.opens_at:
        message = f"This poll is not open yet; it opens at {poll.opens_at.isoformat()}."
    else:
        return
    raise ValidationError({"poll": [message]})


def _check_against_poll(allocations: Sequence[AllocationIn], poll: PollReplica,
                        voter: Voter) -> None:
    in_poll = {str(c) for c in poll.causes}
    foreign = [str(a["cause"]) for a in allocations if str(a["cause"]) not in in_poll]
    if foreign:
        raise ValidationError({"allocations": [
            "Not a cause of this poll: " + ", ".join(foreign) + "."]})
    total = sum(a["points"] for a in allocations)
    if total > voter.points:
        # Points are voting power per poll: the same points may be given in every poll.
        raise ValidationError({"allocations": [
            f"These allocations total {total} points; you have {voter.points}."]})


def ballot_cast(*, voter_id: uuid.UUID, poll_id: uuid.UUID,
                allocations: Sequence[AllocationIn]) -> tuple[Ballot, bool]:
    """Cast or replace the voter's ballot. Returns the ballot and whether it was new.

    Replacing is atomic: the old allocations go and the new ones come in one transaction, and
    both versions stay in the revision history."""
    allocations = _normalized(allocations)
    if ballot_sql.may_run_own_transaction():
        cast = _cast_in_two_round_trips(voter_id=voter_id, poll_id=poll_id,
                                        allocations=allocations)
        if cast is not None:
            return cast
    with transaction.atomic():
        cast = _cast_eligible(voter_id=voter_id, poll_id=poll_id, allocations=allocations)
        if cast is None:
            # A rule fails: the ORM reads, under the same locks, say which one.
            voter = _lock_voter(voter_id)
            poll = poll_lock_shared(poll_id)
            _check_open(poll)
            _check_against_poll(allocations, poll, voter)
            # None did: the voter's replica arrived between the two reads. Now it is locked.
            cast = _cast_eligible(voter_id=voter_id, poll_id=poll_id, allocations=allocations)
            if cast is None:
                raise RuntimeError(f"ballot of {voter_id} in {poll_id}: eligible, yet not cast")
    return cast


def _cast_in_two_round_trips(*, voter_id: uuid.UUID, poll_id: uuid.UUID,
                             allocations: list[AllocationIn]) -> tuple[Ballot, bool] | None:
    """The common cast on PostgreSQL outside any transaction: `BEGIN` and one locking read of
    voter, poll and ballot together, then the writes and `COMMIT` together (`ballot_sql`).

    The ballot is read in the locking statement, so with the snapshot it started with: if
    another ballot of this voter committed while this one waited for the voter's lock, what
    it read is a moment old, and the writes break a unique constraint (the ballot, or the
    revision number) instead of overwriting anything. Then it reads again, as after a
    migration that made the connection's prepared statements stale. None when a rule fails
    (the ORM path says which), and nothing written."""
    for _attempt in range(3):
        now = timezone.now()
        committed = False
        try:
            # Inside the try: an error after its BEGIN (a lock timeout, say) must roll back too.
            read = ballot_sql.begin_and_read(voter_id=voter_id, poll_id=poll_id, now=now)
            if read is None:
                return None
            eligible, stored = read
            prepared = _prepare_cast(voter_id=voter_id, poll_id=poll_id,
                                     allocations=allocations, eligible=eligible,
                                     stored=stored, now=now)
            if prepared is None:
                return None
            ballot, created, written, revision = prepared
            try:
                ballot_sql.write_and_commit(ballot=ballot, created=created,
                                            allocations=written, revision=revision)
            except IntegrityError:
                continue  # read a moment old, see above: rolled back below, read again
            committed = True
        except ballot_sql.PreparedStatementsStale:
            continue  # a migration ran meanwhile: rolled back below, prepared again
        finally:
            if not committed:
                ballot_sql.rollback()
        return _written(ballot, written), created
    return None  # still racing after three tries: the serialized path below takes over


def _cast_eligible(*, voter_id: uuid.UUID, poll_id: uuid.UUID,
                   allocations: list[AllocationIn]) -> tuple[Ballot, bool] | None:
    """`ballot_cast` for an eligible voter in an open poll, in raw SQL (`ballot_sql`) inside
    the caller's transaction: the same locks, checks and rows in four statements instead of
    about ten through the ORM. None when the voter or poll is not eligible, and nothing
    written."""
    now = timezone.now()
    eligible = ballot_sql.lock_eligible(voter_id=voter_id, poll_id=poll_id, now=now)
    if eligible is None:
        return None
    stored = ballot_sql.stored_ballot(voter_id=voter_id, poll_id=poll_id)
    prepared = _prepare_cast(voter_id=voter_id, poll_id=poll_id, allocations=allocations,
                             eligible=eligible, stored=stored, now=now)
    if prepared is None:
        return None
    ballot, created, written, revision = prepared
    ballot_sql.write_cast(ballot=ballot, created=created, allocations=written,
                          revision=revision)
    return _written(ballot, written), created


def _prepare_cast(*, voter_id: uuid.UUID, poll_id: uuid.UUID, allocations: list[AllocationIn],
                  eligible: ballot_sql.Eligible, stored: ballot_sql.StoredBallot | None,
                  now: datetime) -> tuple[Ballot, bool, list[Allocation], BallotRevision] | None:
    """The rows of a cast, unsaved; None when the points or causes break a rule (the ORM path
    words the message)."""
    total = sum(a["points"] for a in allocations)
    if total > eligible.points or any(str(a["cause"]) not in eligible.poll_causes
                                      for a in allocations):
        return None
    # Unsaved instances, filled in as the rows are written: the caller answers with them.
    poll = PollReplica(id=poll_id, title=eligible.poll_title, status=eligible.poll_status)
    voter = Voter(id=voter_id, points=eligible.points)
    ballot = Ballot(id=uuid.uuid4() if stored is None else stored.id, poll=poll, voter=voter,
                    created_at=now if stored is None else stored.created_at,
                    revision=0 if stored is None else stored.revision,
                    receipt="" if stored is None else stored.receipt)
    revision = _next_revision(ballot, BallotRevision.Kind.CAST, allocations, voter, now)
    ballot.retracted_at = None
    written = [Allocation(ballot=ballot, poll=poll, cause_id=a["cause"], points=a["points"],
                          position=i) for i, a in enumerate(allocations)]
    return ballot, stored is None, written, revision


def _written(ballot: Ballot, allocations: list[Allocation]) -> Ballot:
    """The ballot as the caller answers with it, without reading it back: its allocations as
    written, in `current_allocations` (as `selectors.ballot_get` gives them)."""
    ballot._state.adding = False
    ballot.current_allocations = allocations
    return ballot


def _next_revision(ballot: Ballot, kind: str, allocations: Sequence[AllocationIn],
                   voter: Voter, now: datetime) -> BallotRevision:
    """The ballot's next revision with its receipt, chained to the previous one; the ballot
    (saved by the caller, which holds the voter's lock) moves on to it."""
    number = ballot.revision + 1
    nonce = new_nonce()
    previous = ballot.receipt or None
    receipt = revision_receipt(
        poll_id=ballot.poll_id, previous=previous, number=number, kind=kind, at=now,
        allocations=[(a["cause"], a["points"]) for a in allocations], nonce=nonce)
    ballot.revision, ballot.receipt, ballot.updated_at = number, receipt, now
    return BallotRevision(
        ballot=ballot, number=number, kind=kind,
        allocations=[{"cause": str(a["cause"]), "points": a["points"]} for a in allocations],
        total_points=sum(a["points"] for a in allocations), voter_points=voter.points,
        created_at=now, receipt=receipt, previous_receipt=previous, nonce=nonce)


def ballot_retract(*, voter_id: uuid.UUID, poll_id: uuid.UUID) -> Ballot:
    """Withdraw the voter's ballot while the poll is open. The ballot row and its history stay;
    the retraction is a revision of its own."""
    with transaction.atomic():
        voter = _lock_voter(voter_id)
        poll = poll_lock_shared(poll_id)
        ballot = Ballot.objects.filter(poll=poll, voter=voter).first()
        if ballot is None or ballot.is_retracted:
            raise Http404(NO_BALLOT)
        _check_open(poll)
        now = timezone.now()
        Allocation.objects.filter(ballot=ballot).delete()
        revision = _next_revision(ballot, BallotRevision.Kind.RETRACT, [], voter, now)
        ballot.retracted_at = now
        ballot.save(update_fields=["revision", "receipt", "retracted_at", "updated_at"])
        revision.save(force_insert=True)
    return ballot
