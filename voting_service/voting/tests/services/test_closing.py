"""An early close (`closing`): voting takes ballots until the closes_at it enforces, which is the
requested one when it hears in time and the moment it hears otherwise; the final tally says
which, and counts exactly the ballots accepted before it."""

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from shared_events.core.consumer.apply import Action, apply_batch
from shared_events.core.outbox.models import OutboxEvent
from shared_events.core.schemas import decode
from shared_events.core.testing import wait_until
from voting import services, tasks
from voting.models import BallotRevision, PollReplica, PollTally
from voting.services import closing

from ..factories import ballot_body, client_for, make_poll, make_voter, poll_message, poll_state_of

pytestmark = pytest.mark.django_db


def cast(voter, poll, *points):
    return client_for(voter.pk).put(
        f"/voting/api/polls/{poll.pk}/ballot/", ballot_body(poll, *points), format="json"
    )


def close_early(poll, *, closes_in: timedelta, version: int = 2):
    """polls_service's `closing` state, with closes_at `closes_in` from now."""
    state = poll_state_of(
        poll, status="closing", closes_at=(timezone.now() + closes_in).isoformat()
    )
    outcomes = apply_batch([poll_message(state, version)])
    assert [o.action for o in outcomes] == [Action.ACK], outcomes
    return state


def final_tally_event(poll) -> dict:
    rows = OutboxEvent.objects.filter(
        aggregate_id=str(poll.pk), event_type__startswith="voting.tally."
    ).order_by("seq")
    finals = [decode(bytes(r.payload)).data for r in rows]
    finals = [t for t in finals if t.final]
    assert len(finals) == 1, finals
    return finals[0]


def test_a_close_heard_in_time_takes_ballots_until_its_closes_at(db):
    poll = make_poll(causes=2)
    early, late = make_voter(), make_voter()
    assert cast(early, poll, 5).status_code == 201
    state = close_early(poll, closes_in=timedelta(minutes=5))
    poll.refresh_from_db()
    assert (poll.status, poll.closes_at.isoformat()) == ("closing", state.closes_at)
    # Still taking ballots: it closes at the closes_at polls shows, not before.
    accepted = cast(late, poll, 0, 7)
    assert accepted.status_code == 201 and accepted.json()["poll_status"] == "closing"
    assert not PollTally.objects.filter(final=True).exists()
    assert services.tallies_refresh_open() == 1  # the live tally goes on
    assert services.polls_close_due() == []  # not yet due

    assert services.polls_close_due(now=poll.closes_at) == [poll.pk]
    poll.refresh_from_db()
    tally = PollTally.objects.get(pk=poll.pk)
    assert (poll.status, tally.final, tally.ballots, tally.total_points) == ("closed", True, 2, 12)
    assert final_tally_event(poll).closes_at == state.closes_at
    refused = cast(late, poll, 1)
    assert refused.status_code == 400 and refused.json() == {"poll": ["This poll is closed."]}


def test_a_close_heard_late_takes_effect_when_heard_and_says_so(db):
    """polls asked for a closes_at that passed before voting heard (a stalled relay): the
    ballots voting accepted meanwhile were answered 2xx, so they count, and the final tally
    says voting stopped when it heard."""
    poll = make_poll(causes=2)
    voter = make_voter()
    assert cast(voter, poll, 5).status_code == 201
    assert cast(voter, poll, 0, 9).status_code == 200  # after the requested closes_at, below
    before = timezone.now()
    state = close_early(poll, closes_in=-timedelta(seconds=30))
    after = timezone.now()
    poll.refresh_from_db()
    assert poll.status == "closed"
    enforced = datetime.fromisoformat(final_tally_event(poll).closes_at)
    assert before <= enforced <= after and poll.closes_at == enforced
    assert enforced > datetime.fromisoformat(state.closes_at)
    tally = PollTally.objects.get(pk=poll.pk)
    assert (tally.final, tally.total_points) == (True, 9)
    assert all(r.created_at < enforced for r in BallotRevision.objects.all())
    assert cast(voter, poll, 1).status_code == 400
    assert services.polls_close_due(now=after + timedelta(hours=1)) == []


def test_a_close_never_lets_ballots_past_the_closes_at_voting_already_enforced(db):
    poll = make_poll(causes=2, closes_in=-timedelta(seconds=10))  # its time has passed here
    close_early(poll, closes_in=timedelta(minutes=5))  # polls asks later: voting holds to its
    poll_after = PollReplica.objects.get(pk=poll.pk)
    assert (poll_after.status, poll_after.closes_at) == ("closed", poll.closes_at)
    assert final_tally_event(poll).closes_at == poll.closes_at.isoformat()


def test_a_scheduled_close_carries_the_closes_at_too(db):
    poll = make_poll(causes=2, closes_in=-timedelta(seconds=1))
    apply_batch([poll_message(poll_state_of(poll, status="closed"), 2)])
    assert final_tally_event(poll).closes_at == poll.closes_at.isoformat()


def test_later_states_of_a_poll_closed_here_keep_what_was_enforced(db):
    poll = make_poll(causes=2)
    state = close_early(poll, closes_in=-timedelta(seconds=30))
    enforced = PollReplica.objects.get(pk=poll.pk).closes_at
    # A title fix while polls still says closing, then polls' finalized state.
    apply_batch([poll_message(dataclasses.replace(state, title="Fixed"), 3)])
    replica = PollReplica.objects.get(pk=poll.pk)
    assert (replica.title, replica.status, replica.closes_at) == ("Fixed", "closed", enforced)
    apply_batch(
        [
            poll_message(
                dataclasses.replace(state, status="finalized", closes_at=enforced.isoformat()), 4
            )
        ]
    )
    replica = PollReplica.objects.get(pk=poll.pk)
    assert (replica.status, replica.closes_at) == ("finalized", enforced)
    assert PollTally.objects.get(pk=poll.pk).version == 1


def test_a_redelivered_closing_state_changes_nothing(db):
    poll = make_poll(causes=2)
    state = close_early(poll, closes_in=-timedelta(seconds=30))
    replica = PollReplica.objects.get(pk=poll.pk)
    apply_batch([poll_message(state, 2)])
    assert PollReplica.objects.get(pk=poll.pk).closes_at == replica.closes_at


def test_a_poll_first_seen_closing_takes_ballots_until_its_closes_at(db):
    poll = make_poll(causes=2, status="closing", closes_in=timedelta(minutes=1))
    assert poll.status == "closing"
    assert cast(make_voter(), poll, 3).status_code == 201


def test_the_tally_task_closes_due_closing_polls(db):
    poll = make_poll(causes=2)
    close_early(poll, closes_in=timedelta(seconds=2))
    poll.refresh_from_db()
    assert poll.status == "closing"
    wait_until(lambda: timezone.now() > poll.closes_at, timeout=10)
    tasks.refresh_tallies.apply().get()
    assert PollReplica.objects.get(pk=poll.pk).status == "closed"
    assert PollTally.objects.get(pk=poll.pk).final


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_a_ballot_waiting_behind_the_close_at_closes_at_is_refused(monkeypatch):
    """A ballot that read the clock before closes_at but reaches the poll row after the close
    took it: it finds the poll closed, so no 2xx for a ballot the final tally missed."""
    poll = make_poll(causes=2)
    voter = make_voter()
    close_early(poll, closes_in=timedelta(minutes=5))
    poll.refresh_from_db()
    finalizing, release = threading.Event(), threading.Event()
    original = closing.tally_finalize

    def hold_before_finalizing(**kwargs):
        finalizing.set()
        assert release.wait(20)
        return original(**kwargs)

    monkeypatch.setattr(closing, "tally_finalize", hold_before_finalizing)

    def in_thread(func):
        def run():
            try:
                return func()
            finally:
                connection.close()

        return run

    with ThreadPoolExecutor(2) as pool:
        close_future = pool.submit(in_thread(lambda: services.polls_close_due(now=poll.closes_at)))
        assert finalizing.wait(20)
        ballot_future = pool.submit(in_thread(lambda: cast(voter, poll, 4)))  # clock: open
        wait_until(
            lambda: _waiting_on_a_lock("EXECUTE voting_cast_read("),
            timeout=20,
            message="the ballot to wait for the close",
        )
        release.set()
        assert close_future.result(20) == [poll.pk]
        response = ballot_future.result(20)
    assert response.status_code == 400 and response.json() == {"poll": ["This poll is closed."]}
    assert PollTally.objects.get(pk=poll.pk).ballots == 0


def _waiting_on_a_lock(fragment: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query ILIKE %s",
            [f"%{fragment}%"],
        )
        return cursor.fetchone()[0] > 0
