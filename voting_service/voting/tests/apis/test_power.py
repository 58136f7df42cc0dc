"""Ballots against the frozen power, `GET polls/<id>/power/` and the operators' CSV: chain
mode's refusals, each with its reason, and the open mode's points frozen at first need."""

import csv
import io
import uuid

import pytest

from voting import services
from voting.models import BallotRevision, PollPower, PollTally

from ..factories import (
    ballot_body,
    client_for,
    make_poll,
    make_voter,
    set_voter,
    stake_part,
)

pytestmark = pytest.mark.django_db

EPOCH = 500
A, B, C = "stake1_alice", "stake1_bob", "stake1_carol"
ROWS = [[A, 1_500_000_000, 3], [B, 250_000_000, 1], [C, 10_000_000_000, 10]]


@pytest.fixture
def chain_mode(settings):
    settings.CHAIN_SOURCE = "file"
    settings.OPEN_ELIGIBILITY = False


def stored(rows=ROWS, *, part=0, parts=1):
    services.epoch_stake_apply_part(
        state=stake_part(EPOCH, rows, part=part, parts=parts), version=1
    )


def put(voter, poll, *points):
    return client_for(voter.pk).put(
        f"/voting/api/polls/{poll.pk}/ballot/", ballot_body(poll, *points), format="json"
    )


def power_of(voter, poll):
    return client_for(voter.pk).get(f"/voting/api/polls/{poll.pk}/power/")


@pytest.mark.usefixtures("chain_mode")
def test_a_ballot_is_checked_against_the_frozen_power():
    stored()
    alice = make_voter(points=1, stake_address=A)
    poll = make_poll(power_formula="stake", snapshot_epoch=EPOCH, cap_percent=60)
    # 1500 + 250 + 10000 = 11750 ada; cap floor(11750 * 60 / 100) = 7050.
    response = put(alice, poll, 1000, 501)
    assert response.status_code == 400
    assert response.json() == {
        "allocations": ["These allocations total 1501 points; you have 1500."]
    }
    assert put(alice, poll, 1000, 500).status_code == 201
    assert BallotRevision.objects.get(ballot__voter=alice).voter_points == 1500
    carol = make_voter(stake_address=C)
    assert power_of(carol, poll).json() == {"eligible": True, "power": 7050, "reason": None}
    assert put(carol, poll, 7051).status_code == 400
    assert put(carol, poll, 7050).status_code == 201


@pytest.mark.usefixtures("chain_mode")
@pytest.mark.parametrize(
    "address, min_stake, reason",
    [
        (None, 0, "Not eligible: your account has no proven stake address."),
        (
            "stake1_stranger",
            0,
            "Not eligible: your stake address is not in the pool's stake "
            "distribution of epoch 500.",
        ),
        (
            B,
            300_000_000,
            "Not eligible: your stake in epoch 500, 250000000 lovelace, is below "
            "this poll's minimum of 300000000 lovelace.",
        ),
    ],
)
def test_who_is_not_eligible_is_told_why(address, min_stake, reason):
    stored()
    voter = make_voter(stake_address=address)
    poll = make_poll(power_formula="stake", snapshot_epoch=EPOCH, min_stake_lovelace=min_stake)
    response = put(voter, poll, 1)
    assert response.status_code == 403 and response.json()["detail"] == reason
    assert power_of(voter, poll).json() == {"eligible": False, "power": None, "reason": reason}
    assert not BallotRevision.objects.exists()


@pytest.mark.usefixtures("chain_mode")
def test_before_the_table_is_frozen_the_answer_is_409():
    stored(ROWS[:1], part=0, parts=2)  # half the epoch
    alice = make_voter(stake_address=A)
    poll = make_poll(power_formula="stake", snapshot_epoch=EPOCH)
    for response in (put(alice, poll, 1), power_of(alice, poll)):
        assert response.status_code == 409
        assert response.json()["detail"] == (
            "Voting power for this poll is not computed yet; try again later."
        )
    stored(ROWS[1:], part=1, parts=2)
    assert put(alice, poll, 1500).status_code == 201


@pytest.mark.usefixtures("chain_mode")
def test_points_of_a_voter_known_after_the_freeze_are_frozen_when_first_needed():
    make_voter(points=100, stake_address=A)
    stored()
    poll = make_poll(power_formula="points", snapshot_epoch=EPOCH, cap_percent=50)
    # Known at the freeze: Alice's 100 points; cap floor(100 * 50 / 100) = 50.
    bob = make_voter(points=80, stake_address=B)
    assert power_of(bob, poll).json() == {"eligible": True, "power": 50, "reason": None}
    bob = set_voter(bob, points=10)
    # Frozen by the question above, so the ballot gets 50, not today's 10.
    assert put(bob, poll, 50).status_code == 201
    assert PollPower.objects.get(poll=poll, stake_address=B).power == 50


def test_open_mode_freezes_my_points_at_first_need(settings):
    settings.CHAIN_SOURCE = "none"
    voter, poll = make_voter(points=100), make_poll()
    assert power_of(voter, poll).json() == {"eligible": True, "power": 100, "reason": None}
    voter = set_voter(voter, points=10)
    assert put(voter, poll, 100).status_code == 201
    assert power_of(voter, poll).json()["power"] == 100
    # Another poll is another first need: today's points there.
    other = make_poll()
    assert put(voter, other, 11).json() == {
        "allocations": ["These allocations total 11 points; you have 10."]
    }


def test_the_power_of_an_inactive_or_unknown_voter_says_why(poll):
    inactive = set_voter(make_voter(), is_active=False)
    assert power_of(inactive, poll).json() == {
        "eligible": False,
        "power": None,
        "reason": "Your account is deactivated; it cannot vote.",
    }
    assert (
        client_for(uuid.uuid4()).get(f"/voting/api/polls/{uuid.uuid4()}/power/").status_code == 404
    )


@pytest.mark.usefixtures("chain_mode")
def test_operators_download_the_table_as_csv():
    stored()
    poll = make_poll(power_formula="sqrt_stake", snapshot_epoch=EPOCH, min_stake_lovelace=1)
    url = f"/voting/api/polls/{poll.pk}/power/table/"
    operator = make_voter(role="operator")
    assert client_for(make_voter().pk).get(url).status_code == 403
    response = client_for(operator.pk, "operator").get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["stake_address"], r["lovelace"], r["loyalty"], r["power"]) for r in rows] == [
        (A, "1500000000", "3", "38"),
        (B, "250000000", "1", "15"),
        (C, "10000000000", "10", "100"),
    ]
    assert client_for(operator.pk, "operator").get(url).content == response.content


@pytest.mark.usefixtures("chain_mode")
def test_the_tally_carries_the_polls_power():
    stored()
    alice = make_voter(stake_address=A)
    poll = make_poll(power_formula="stake_x_loyalty", snapshot_epoch=EPOCH, cap_percent=90)
    assert put(alice, poll, 4500).status_code == 201
    assert services.tally_refresh(poll_id=poll.pk)
    state = PollTally.objects.get(pk=poll.pk).event_state()
    # 4500 + 250 + 100000 = 104750; cap floor(104750 * 90 / 100) = 94275.
    assert (state.power_formula, state.snapshot_epoch, state.eligible, state.total_power) == (
        "stake_x_loyalty",
        EPOCH,
        3,
        4500 + 250 + 94275,
    )


def test_an_open_mode_tally_counts_every_active_delegator(poll, settings):
    settings.CHAIN_SOURCE = "none"
    voter = make_voter(points=30)
    make_voter(points=70)
    make_voter(points=1000, is_active=False)
    assert put(voter, poll, 30).status_code == 201
    set_voter(voter, points=5)  # frozen at 30 in this poll
    assert services.tally_refresh(poll_id=poll.pk)
    state = PollTally.objects.get(pk=poll.pk).event_state()
    assert (state.power_formula, state.snapshot_epoch, state.eligible, state.total_power) == (
        "points",
        None,
        2,
        100,
    )


@pytest.mark.usefixtures("chain_mode")
def test_the_table_answers_a_client_that_asks_for_csv():
    stored()
    poll = make_poll(power_formula="stake", snapshot_epoch=EPOCH)
    url = f"/voting/api/polls/{poll.pk}/power/table/"
    operator = make_voter(role="operator")
    table = client_for(operator.pk, "operator").get(url, HTTP_ACCEPT="text/csv")
    assert table.status_code == 200 and table["Content-Type"].startswith("text/csv")
    assert table.content.decode().splitlines()[0].startswith("poll_id,stake_address,voter")
    # A refusal to such a client is JSON all the same.
    refused = client_for(make_voter().pk).get(url, HTTP_ACCEPT="text/csv")
    assert refused.status_code == 403 and refused["Content-Type"] == "application/json"
    assert "detail" in refused.json()
    assert client_for(operator.pk, "operator").get(url, HTTP_ACCEPT="image/png").status_code == 406
