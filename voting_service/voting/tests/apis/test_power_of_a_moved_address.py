"""A stake address that moves to another account during a poll (a new proof on account B
unlinks it from A) counts once in the poll: its row of the frozen table belongs to the first
account that votes with it, for the rest of the poll (README, Voting power per poll)."""

import csv
import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from voting import eligibility, services
from voting.eligibility import ADDRESS_HELD_ELSEWHERE, NO_STAKE_ADDRESS
from voting.models import BallotRevision, PollPower
from voting.selectors.exports import voter_pseudonym

from ..factories import ballot_body, client_for, make_poll, make_voter, set_voter, stake_part

EPOCH = 500
A, B = "stake1_alice", "stake1_bob"
ROWS = [[A, 1_500_000_000, 3], [B, 250_000_000, 1]]


@pytest.fixture(autouse=True)
def chain_mode(settings):
    settings.CHAIN_SOURCE = "file"
    settings.OPEN_ELIGIBILITY = False


def stored():
    services.epoch_stake_apply_part(state=stake_part(EPOCH, ROWS), version=1)


def put(voter, poll, *points):
    return client_for(voter.pk).put(
        f"/voting/api/polls/{poll.pk}/ballot/", ballot_body(poll, *points), format="json"
    )


def retract(voter, poll):
    return client_for(voter.pk).delete(f"/voting/api/polls/{poll.pk}/ballot/")


def power_of(voter, poll):
    return client_for(voter.pk).get(f"/voting/api/polls/{poll.pk}/power/").json()


def moved(address, *, from_voter, to_voter):
    """What voting's replica sees of a proof on another account: the address unlinked from
    one account and linked to the other."""
    return set_voter(from_voter, stake_address=None), set_voter(to_voter, stake_address=address)


@pytest.mark.django_db
def test_after_the_first_account_voted_the_address_moved_to_counts_nothing_more():
    stored()
    first, second = make_voter(stake_address=A), make_voter(stake_address=None)
    poll = make_poll(power_formula="stake", snapshot_epoch=EPOCH)
    assert put(first, poll, 1000, 500).status_code == 201
    first, second = moved(A, from_voter=first, to_voter=second)

    refused = put(second, poll, 1)
    assert refused.status_code == 403 and refused.json()["detail"] == ADDRESS_HELD_ELSEWHERE
    assert power_of(second, poll) == {
        "eligible": False,
        "power": None,
        "reason": ADDRESS_HELD_ELSEWHERE,
    }
    # The first account keeps the power it voted with: it may change its ballot or retract.
    assert power_of(first, poll) == {"eligible": True, "power": 1500, "reason": None}
    assert put(first, poll, 1500).status_code == 200
    assert put(first, poll, 1501).status_code == 400
    assert retract(first, poll).status_code == 204
    # A retraction does not hand the address's power on: it counted once in this poll.
    assert put(second, poll, 1).status_code == 403
    assert [r.voter_points for r in BallotRevision.objects.order_by("number")] == [1500] * 3
    row = PollPower.objects.get(poll=poll, stake_address=A)
    assert (row.voter_id, row.power) == (first.pk, 1500)


@pytest.mark.django_db
def test_the_address_moved_before_anyone_voted_votes_from_the_account_holding_it():
    stored()
    first, second = make_voter(stake_address=A), make_voter(stake_address=None)
    poll = make_poll(power_formula="stake", snapshot_epoch=EPOCH)
    assert power_of(first, poll)["power"] == 1500  # asking holds nothing
    first, second = moved(A, from_voter=first, to_voter=second)
    assert put(second, poll, 1500).status_code == 201
    refused = put(first, poll, 1)
    assert refused.status_code == 403 and refused.json()["detail"] == NO_STAKE_ADDRESS
    # Back again: the power stays with the account that voted with it.
    second, first = moved(A, from_voter=second, to_voter=first)
    again = put(first, poll, 1)
    assert again.json()["detail"] == ADDRESS_HELD_ELSEWHERE, again.content
    assert put(second, poll, 1500).status_code == 200


@pytest.mark.django_db
def test_an_account_keeps_the_address_it_voted_with_when_it_proves_another():
    stored()
    voter, other = make_voter(stake_address=A), make_voter(stake_address=B)
    poll = make_poll(power_formula="stake", snapshot_epoch=EPOCH)
    assert put(voter, poll, 1500).status_code == 201
    # B's key holder moves B to this account (and so off the other): still A's power here.
    set_voter(other, stake_address=None)
    voter = set_voter(voter, stake_address=B)
    assert power_of(voter, poll)["power"] == 1500
    assert put(voter, poll, 1501).status_code == 400
    # ... and B's power is not this account's to use twice, nor anyone's until one holds it.
    assert PollPower.objects.get(poll=poll, stake_address=B).voter_id is None


@pytest.mark.django_db
def test_points_formula_counts_the_points_of_the_first_account_that_voted():
    first, second = make_voter(points=100, stake_address=A), make_voter(points=900)
    stored()
    poll = make_poll(power_formula="points", snapshot_epoch=EPOCH)
    assert put(first, poll, 100).status_code == 201
    first, second = moved(A, from_voter=first, to_voter=second)
    assert put(second, poll, 1).json()["detail"] == ADDRESS_HELD_ELSEWHERE
    assert PollPower.objects.get(poll=poll, stake_address=A).power == 100


@pytest.mark.django_db
def test_the_csv_names_the_voter_who_holds_a_row():
    stored()
    voter = make_voter(stake_address=A)
    poll = make_poll(power_formula="stake", snapshot_epoch=EPOCH)
    assert put(voter, poll, 1).status_code == 201
    operator = make_voter(role="operator")
    response = client_for(operator.pk, "operator").get(f"/voting/api/polls/{poll.pk}/power/table/")
    rows = {
        r["stake_address"]: r["voter"]
        for r in csv.DictReader(io.StringIO(response.content.decode()))
    }
    assert rows == {A: voter_pseudonym(poll_id=poll.pk, voter_id=voter.pk), B: ""}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_accounts_with_one_address_at_once_get_one_ballot_between_them(monkeypatch):
    """The replica may hold the address on both accounts for a moment (between the two
    accounts' events of a move). The second cast's read waits for the first's lock on the
    address's row, then sees it held: exactly one of them votes with its power."""
    stored()
    poll = make_poll(power_formula="stake", snapshot_epoch=EPOCH)
    first, second = make_voter(stake_address=A), make_voter(stake_address=A)
    first_read, second_read = threading.Event(), threading.Event()
    check = eligibility.ballot_cast_check

    def paced(*, voter, **kwargs):
        # The first cast, having read its rows, waits (a little) for the second to read its.
        if voter.pk == first.pk:
            first_read.set()
            second_read.wait(timeout=2)
        else:
            second_read.set()
        return check(voter=voter, **kwargs)

    monkeypatch.setattr(eligibility, "ballot_cast_check", paced)

    def cast(voter):
        try:
            return client_for(voter.pk).put(
                f"/voting/api/polls/{poll.pk}/ballot/", ballot_body(poll, 1500), format="json"
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        first_cast = pool.submit(cast, first)
        assert first_read.wait(timeout=10)
        second_cast = pool.submit(cast, second)
        answers = (first_cast.result(timeout=30), second_cast.result(timeout=30))
    assert [a.status_code for a in answers] == [201, 403], [a.content for a in answers]
    assert answers[1].json()["detail"] == ADDRESS_HELD_ELSEWHERE
    assert PollPower.objects.get(poll=poll, stake_address=A).voter_id == first.pk
