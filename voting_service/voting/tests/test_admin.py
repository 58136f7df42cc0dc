"""Operators can see ballots (with every revision) and tallies, and change none of them."""

import pytest
from django.contrib.auth.models import User

from voting import services
from voting.models import Ballot, PollTally

from .factories import make_poll, make_voter, set_poll

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client):
    client.force_login(User.objects.create_superuser("op", "op@example.org", "pw"))
    return client


@pytest.fixture
def ballot_and_tally():
    poll = make_poll(title="Winter round")
    voter = make_voter()
    for points in (11, 22):
        services.ballot_cast(
            voter_id=voter.pk,
            poll_id=poll.pk,
            allocations=[{"cause": poll.causes[0], "points": points}],
        )
    set_poll(poll, status="closed")
    return Ballot.objects.get(poll=poll), PollTally.objects.get(pk=poll.pk)


def test_ballots_are_listed_and_shown_with_their_revisions(operator_client, ballot_and_tally):
    ballot, _ = ballot_and_tally
    listing = operator_client.get("/voting/admin/voting/ballot/")
    assert listing.status_code == 200 and "Winter round" in listing.content.decode()
    page = operator_client.get(f"/voting/admin/voting/ballot/{ballot.pk}/change/").content.decode()
    assert "revisions (every cast and retraction)" in page.lower()
    assert "11" in page and "22" in page


def test_tallies_are_listed_and_shown(operator_client, ballot_and_tally):
    _, tally = ballot_and_tally
    assert operator_client.get("/voting/admin/voting/polltally/").status_code == 200
    page = operator_client.get(f"/voting/admin/voting/polltally/{tally.pk}/change/")
    assert page.status_code == 200 and tally.ballots_digest in page.content.decode()


@pytest.mark.parametrize("model", ["ballot", "polltally", "pollreplica", "voter"])
def test_nothing_can_be_added_changed_or_deleted(operator_client, ballot_and_tally, model):
    ballot, tally = ballot_and_tally
    pk = {
        "ballot": ballot.pk,
        "polltally": tally.pk,
        "pollreplica": tally.pk,
        "voter": ballot.voter_id,
    }[model]
    base = f"/voting/admin/voting/{model}/"
    assert operator_client.get(f"{base}add/").status_code == 403
    assert operator_client.post(f"{base}{pk}/change/", {}).status_code == 403
    assert operator_client.post(f"{base}{pk}/delete/", {"post": "yes"}).status_code == 403
    assert Ballot.objects.filter(pk=ballot.pk).exists()
    assert PollTally.objects.get(pk=tally.pk).version == tally.version


def test_the_admin_needs_a_sign_in(client):
    assert client.get("/voting/admin/voting/ballot/").status_code == 302
