"""A draft poll is an operator's work in progress: polls shows it to operators only, and voting,
which has nothing to offer for it, to nobody. Every endpoint answers as for an unknown poll,
so neither its existence, its causes nor its opening time leak."""

import uuid

import pytest

from voting.models import Ballot

from ..factories import ballot_body, client_for, make_poll, set_poll

NOT_FOUND = {"detail": "No such poll."}


def poll_paths(poll_id) -> list[str]:
    return [
        f"/voting/api/polls/{poll_id}/{tail}"
        for tail in ("tally/", "ballot/", "ballot/revisions/", "receipts/")
    ]


@pytest.fixture
def draft(db):
    return make_poll(status="draft", results_visibility="live")


@pytest.mark.parametrize("role", ["delegator", "operator"])
def test_a_draft_answers_every_read_as_an_unknown_poll(draft, role):
    client = client_for(uuid.uuid4(), role=role)
    for path, unknown in zip(poll_paths(draft.pk), poll_paths(uuid.uuid4()), strict=True):
        response = client.get(path)
        assert response.status_code == 404, (path, response.content)
        assert response.json() == client.get(unknown).json() == NOT_FOUND, path


def test_a_ballot_for_a_draft_is_404_and_reveals_nothing(api, draft):
    url = f"/voting/api/polls/{draft.pk}/ballot/"
    cast = api.put(url, ballot_body(draft, 1), format="json")
    assert cast.status_code == 404, cast.content
    assert cast.json() == NOT_FOUND  # neither its opens_at nor any cause
    assert draft.opens_at.isoformat()[:16] not in cast.content.decode()
    assert api.delete(url).status_code == 404
    assert not Ballot.objects.exists()


def test_a_poll_sent_back_to_draft_hides_its_ballots_and_receipts(api, poll):
    """polls never does this; should a replica say so, voting still shows nothing of it."""
    url = f"/voting/api/polls/{poll.pk}/ballot/"
    receipt = api.put(url, ballot_body(poll, 1), format="json").json()["receipt"]
    draft = set_poll(poll, status="draft")
    assert api.get(url).status_code == 404
    assert api.get(f"/voting/api/receipts/{receipt}/").status_code == 404
    assert api.get("/voting/api/me/ballots/").json()["results"] == []
    set_poll(draft, status="scheduled")  # visible again once it leaves draft
    assert api.get(f"/voting/api/receipts/{receipt}/").status_code == 200
    assert len(api.get("/voting/api/me/ballots/").json()["results"]) == 1
