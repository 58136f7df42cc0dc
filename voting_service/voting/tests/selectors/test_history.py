"""A voter's history: every revision of every ballot, with what became of it."""

from __future__ import annotations

import pytest

from voting import selectors

from ..factories import ballot_body, client_for, make_poll, make_voter, set_poll

pytestmark = pytest.mark.django_db


def test_every_revision_with_its_status_newest_ballot_first():
    voter, other = make_voter(), make_voter()
    first, second = make_poll(causes=2), make_poll(causes=2)
    api = client_for(voter.pk)
    api.put(f"/voting/api/polls/{first.pk}/ballot/", ballot_body(first, 10), format="json")
    api.put(f"/voting/api/polls/{first.pk}/ballot/", ballot_body(first, 20), format="json")
    api.put(f"/voting/api/polls/{second.pk}/ballot/", ballot_body(second, 5), format="json")
    api.delete(f"/voting/api/polls/{second.pk}/ballot/")
    client_for(other.pk).put(
        f"/voting/api/polls/{first.pk}/ballot/", ballot_body(first, 1), format="json"
    )
    set_poll(first, status="closed")
    history = selectors.history_of_voter(voter_id=voter.pk)
    assert [(e.poll.pk, e.revision.number, e.status.value) for e in history] == [
        (second.pk, 2, "retracted"),
        (second.pk, 1, "retracted"),
        (first.pk, 2, "counted"),
        (first.pk, 1, "superseded"),
    ]


def test_a_draft_polls_ballots_are_not_shown():
    voter = make_voter()
    poll = make_poll(causes=1)
    client_for(voter.pk).put(
        f"/voting/api/polls/{poll.pk}/ballot/", ballot_body(poll, 1), format="json"
    )
    set_poll(poll, status="draft")
    assert selectors.history_of_voter(voter_id=voter.pk) == []
