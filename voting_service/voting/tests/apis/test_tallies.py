"""The tally API: what it shows, to whom, and when."""

import uuid

import pytest

from voting import services

from ..factories import cast, client_for, make_poll, make_voter, set_poll

pytestmark = pytest.mark.django_db


def tally_url(poll) -> str:
    return f"/voting/api/polls/{poll.pk}/tally/"


def test_live_tally_counts_points_and_voters_per_cause(poll):
    a, b, c = make_voter(), make_voter(), make_voter()
    cast(a, poll, 60, 0, 40)
    cast(b, poll, 10, 90)
    cast(c, poll, 0, 0, 5)
    client = client_for(a.pk)
    # Served from the tally last published: the task's next tick shows the three ballots.
    assert client.get(tally_url(poll)).json()["ballots"] == 0
    services.tallies_refresh_open()
    body = client.get(tally_url(poll)).json()
    assert body["causes"] == [
        {"cause_id": poll.causes[0], "points": 70, "voters": 2},
        {"cause_id": poll.causes[1], "points": 90, "voters": 1},  # a's zero is not a vote
        {"cause_id": poll.causes[2], "points": 45, "voters": 2},
    ]
    assert (body["ballots"], body["total_points"], body["final"], body["ballots_digest"]) == (
        3,
        205,
        False,
        None,
    )


def test_after_close_tally_is_hidden_until_the_close(db):
    poll = make_poll(results_visibility="after_close")
    voter = make_voter()
    cast(voter, poll, 7)
    client = client_for(voter.pk)
    hidden = client.get(tally_url(poll))
    assert hidden.status_code == 403
    assert hidden.json()["detail"] == "This poll's tally is shown once the poll has closed."
    poll = set_poll(poll, status="cancelled")
    assert client.get(tally_url(poll)).status_code == 403
    set_poll(poll, status="closed")
    shown = client.get(tally_url(poll)).json()
    assert (shown["final"], shown["ballots"], shown["total_points"]) == (True, 1, 7)
    assert len(shown["ballots_digest"]) == 64


def test_tally_of_an_unknown_poll_is_404(db):
    response = client_for(make_voter().pk).get(f"/voting/api/polls/{uuid.uuid4()}/tally/")
    assert response.status_code == 404 and response.json()["detail"] == "No such poll."


def test_operators_may_read_tallies_too(poll):
    assert client_for(uuid.uuid4(), "operator").get(tally_url(poll)).status_code == 200
