"""`ballot_cast` and `ballot_retract` as any caller meets them: domain errors, never HTTP types,
and the same rows and refusals whether a write runs its own transaction (PostgreSQL's two round
trips) or in one of the caller's (SQLite's way, and any caller inside `transaction.atomic()`)."""

import contextlib
import time
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.http import Http404

from shared_events.kit.errors import NotFound, Refused
from voting import services
from voting.models import Ballot

from ..factories import make_poll, make_voter, set_poll

pytestmark = pytest.mark.django_db(transaction=True)


def cast(voter_id, poll, *points):
    return services.ballot_cast(
        voter_id=voter_id,
        poll_id=poll.pk,
        allocations=[{"cause": c, "points": p} for c, p in zip(poll.causes, points, strict=False)],
    )


def history(voter, poll) -> list[tuple]:
    ballot = Ballot.objects.get(voter=voter, poll=poll)
    return [
        (
            r.number,
            r.kind,
            r.allocations,
            r.total_points,
            r.voter_points,
            r.previous_receipt is None,
        )
        for r in ballot.revisions.all()
    ] + [
        [(str(a.cause_id), a.points, a.position) for a in ballot.allocations.all()],
        (ballot.revision, ballot.is_retracted),
    ]


def refusal(write) -> Exception:
    with pytest.raises(Exception) as caught:
        write()
    assert not isinstance(caught.value, Http404 | PermissionDenied)
    return caught.value


@pytest.fixture(params=["own transaction", "caller's transaction"])
def framing(request):
    """How the writes run: alone (on PostgreSQL, two round trips), or inside a transaction of
    the caller's, where the write runs the same steps in a savepoint."""
    return contextlib.nullcontext if request.param == "own transaction" else transaction.atomic


def test_casts_revotes_and_retractions_write_the_same_rows_either_way(framing):
    poll, voter = make_poll(causes=3), make_voter(points=50)
    with framing():
        ballot, created = cast(voter.pk, poll, 5, 0, 7)
    assert created and [(str(a.cause_id), a.points) for a in ballot.current_allocations] == [
        (poll.causes[0], 5),
        (poll.causes[1], 0),
        (poll.causes[2], 7),
    ]
    with framing():
        again, created = cast(voter.pk, poll, 9)
    assert not created and (again.pk, again.revision) == (ballot.pk, 2)
    with framing():
        retracted = services.ballot_retract(voter_id=voter.pk, poll_id=poll.pk)
    assert retracted.is_retracted and retracted.current_allocations == []
    with framing():
        cast(voter.pk, poll, 1, 1)
    assert history(voter, poll) == [
        (
            1,
            "cast",
            [{"cause": c, "points": p} for c, p in zip(poll.causes, [5, 0, 7], strict=True)],
            12,
            50,
            True,
        ),
        (2, "cast", [{"cause": poll.causes[0], "points": 9}], 9, 50, False),
        (3, "retract", [], 0, 50, False),
        (4, "cast", [{"cause": c, "points": 1} for c in poll.causes[:2]], 2, 50, False),
        [(poll.causes[0], 1, 0), (poll.causes[1], 1, 1)],
        (4, False),
    ]
    assert not connection.in_atomic_block


def test_refusals_are_domain_errors_worded_from_the_rows(framing):
    poll, voter = make_poll(causes=2), make_voter(points=10)
    with framing():
        unknown = refusal(lambda: cast(uuid.uuid4(), poll, 1))
    assert isinstance(unknown, Refused) and "not known here yet" in unknown.message
    with framing():
        no_poll = refusal(
            lambda: services.ballot_cast(
                voter_id=voter.pk,
                poll_id=uuid.uuid4(),
                allocations=[{"cause": poll.causes[0], "points": 1}],
            )
        )
    assert isinstance(no_poll, NotFound) and no_poll.message == "No such poll."
    with framing():
        no_ballot = refusal(lambda: services.ballot_retract(voter_id=voter.pk, poll_id=poll.pk))
    assert isinstance(no_ballot, NotFound)
    assert no_ballot.message == "You have no ballot in this poll."
    with framing():
        too_much = refusal(lambda: cast(voter.pk, poll, 11))
    assert isinstance(too_much, ValidationError) and too_much.message_dict == {
        "allocations": ["These allocations total 11 points; you have 10."]
    }
    closed = set_poll(poll, status="closed")
    with framing():
        late = refusal(lambda: cast(voter.pk, closed, 1))
    assert isinstance(late, ValidationError)
    assert late.message_dict == {"poll": ["This poll is closed."]}
    assert not Ballot.objects.exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="only PostgreSQL opens its own transaction"
)
def test_a_refused_write_leaves_no_transaction_open_on_the_connection():
    """The write's own BEGIN is invisible to Django: a refusal after it must end it, or the
    next request on this connection would run inside it."""
    from psycopg2.extensions import TRANSACTION_STATUS_IDLE

    poll, voter = make_poll(causes=2), make_voter(points=10)
    for write in (
        lambda: cast(voter.pk, poll, 11),  # refused under the locks
        lambda: cast(uuid.uuid4(), poll, 1),  # refused by the serialized path
        lambda: services.ballot_retract(voter_id=voter.pk, poll_id=poll.pk),
    ):
        refusal(write)
        assert connection.connection.get_transaction_status() == TRANSACTION_STATUS_IDLE
    cast(voter.pk, poll, 10)
    assert connection.connection.get_transaction_status() == TRANSACTION_STATUS_IDLE


def test_ballot_ids_are_time_ordered():
    """New ballots' ids grow with time (UUID version 7): the indexes leading with a ballot's id
    take them at their right edge (`services.ballots.new_ballot_id`)."""
    poll = make_poll(causes=2)
    ids = []
    for _ in range(3):
        voter = make_voter(points=10)
        services.ballot_cast(
            voter_id=voter.pk, poll_id=poll.pk, allocations=[{"cause": poll.causes[0], "points": 1}]
        )
        ballot = Ballot.objects.get(poll=poll, voter=voter)
        ids.append(ballot.pk)
        time.sleep(0.002)  # ordered by the millisecond
    assert [i.version for i in ids] == [7, 7, 7]
    assert ids == sorted(ids)
    assert list(Ballot.objects.filter(poll=poll).order_by("id").values_list("id", flat=True)) == ids
