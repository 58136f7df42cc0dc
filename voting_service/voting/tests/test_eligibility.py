"""The rules of who may cast or retract a ballot where, on unsaved rows as a write locks them:
their order, and the kind of refusal each raises (the API's answers are in
apis/test_ballots.py)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from shared_events.kit.errors import NotFound, Refused
from voting.eligibility import (
    NO_BALLOT,
    NO_SUCH_POLL,
    NOT_KNOWN_YET,
    ballot_cast_check,
    ballot_retract_check,
    voter_refusal,
)
from voting.models import Ballot, PollReplica, Voter

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CAUSE = str(uuid.uuid4())


def voter(**changes) -> Voter:
    return Voter(
        **{
            "id": uuid.uuid4(),
            "role": "delegator",
            "is_active": True,
            "is_deleted": False,
            "points": 10,
            **changes,
        }
    )


def poll(**changes) -> PollReplica:
    return PollReplica(
        **{
            "id": uuid.uuid4(),
            "title": "Round",
            "status": "open",
            "opens_at": NOW - timedelta(hours=1),
            "closes_at": NOW + timedelta(hours=1),
            "causes": [CAUSE],
            "is_deleted": False,
            **changes,
        }
    )


def cast_refusal(*, voter, poll, points=1, cause=CAUSE) -> Exception:
    with pytest.raises((Refused, NotFound, ValidationError)) as caught:
        ballot_cast_check(
            voter=voter,
            poll=poll,
            now=NOW,
            allocations=[{"cause": uuid.UUID(cause), "points": points}],
        )
    return caught.value


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"is_deleted": True}, "Your account was deleted; it cannot vote."),
        ({"is_active": False}, "Your account is deactivated; it cannot vote."),
        ({"role": "operator"}, "Only delegators vote; this account is 'operator'."),
    ],
)
def test_only_an_active_delegator_votes(changes, message):
    refused = voter(**changes)
    assert voter_refusal(refused) == message and not refused.can_vote
    error = cast_refusal(voter=refused, poll=poll())
    assert isinstance(error, Refused) and error.message == message
    assert voter_refusal(voter()) is None and voter().can_vote


def test_the_voter_is_checked_before_the_poll():
    error = cast_refusal(voter=None, poll=None)
    assert isinstance(error, Refused) and error.message == NOT_KNOWN_YET


@pytest.mark.parametrize("shown", [None, poll(is_deleted=True), poll(status="draft")])
def test_a_poll_not_shown_here_is_not_found(shown):
    error = cast_refusal(voter=voter(), poll=shown)
    assert isinstance(error, NotFound) and error.message == NO_SUCH_POLL


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"status": "cancelled"}, "This poll was cancelled."),
        ({"status": "closed"}, "This poll is closed."),
        ({"closes_at": NOW}, "This poll is closed."),
        ({"status": "scheduled"}, "This poll is not open yet"),
        ({"opens_at": NOW + timedelta(seconds=1)}, "This poll is not open yet"),
    ],
)
def test_a_poll_takes_ballots_while_open_by_status_and_clock(changes, message):
    error = cast_refusal(voter=voter(), poll=poll(**changes))
    assert isinstance(error, ValidationError)
    assert error.message_dict["poll"][0].startswith(message)


def test_a_closing_poll_takes_ballots_until_its_closes_at():
    assert ballot_cast_check(
        voter=voter(),
        poll=poll(status="closing"),
        now=NOW,
        allocations=[{"cause": uuid.UUID(CAUSE), "points": 1}],
    )


def test_causes_are_the_polls_and_points_at_most_the_voters():
    stranger = str(uuid.uuid4())
    assert cast_refusal(voter=voter(), poll=poll(), cause=stranger).message_dict == {
        "allocations": [f"Not a cause of this poll: {stranger}."]
    }
    assert cast_refusal(voter=voter(points=10), poll=poll(), points=11).message_dict == {
        "allocations": ["These allocations total 11 points; you have 10."]
    }


def test_a_retraction_needs_a_standing_ballot_and_an_open_poll():
    who, where = voter(), poll()
    standing = Ballot(id=uuid.uuid4(), poll=where, voter=who, revision=1)
    assert ballot_retract_check(voter=who, poll=where, ballot=standing, now=NOW)[2] is standing
    for ballot in (None, Ballot(poll=where, voter=who, retracted_at=NOW)):
        with pytest.raises(NotFound, match=NO_BALLOT):
            ballot_retract_check(voter=who, poll=where, ballot=ballot, now=NOW)
    with pytest.raises(ValidationError):
        ballot_retract_check(voter=who, poll=poll(status="closed"), ballot=standing, now=NOW)
