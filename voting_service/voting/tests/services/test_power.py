"""Freezing a poll's voting power from the replicated stake of its snapshot epoch (chain mode):
every formula against numbers worked out by hand, the minimum stake, the cap, when the table
is frozen, and that the same parts, in any order or twice, give the same table."""

from datetime import timedelta

import pytest

from shared_events.core.consumer.apply import Action, apply_batch
from voting import services
from voting.models import EpochStake, EpochStakePartReplica, PollPower, PollPowerTable
from voting.selectors.power import epoch_complete, power_summary

from ..factories import (
    account_state,
    epoch_stake_message,
    make_poll,
    make_voter,
    set_poll,
    stake_part,
)

pytestmark = pytest.mark.django_db

EPOCH = 500
A, B, C, D, E = "stake1_alice", "stake1_bob", "stake1_carol", "stake1_dan", "stake1_eve"
# [address, lovelace, loyalty]: whole ada 1500, 250 (rounded down), 10000, 0, and one just
# below a perfect square, 2,999,999^2 + 5,999,998 = 3,000,000^2 - 1 ada.
ROWS = [
    [A, 1_500_000_000, 3],
    [B, 250_999_999, 1],
    [C, 10_000_000_000, 10],
    [D, 999_999, 5],
    [E, 8_999_999_999_999_000_000, 2],
]


@pytest.fixture(autouse=True)
def chain_mode(settings):
    settings.CHAIN_SOURCE = "file"
    settings.OPEN_ELIGIBILITY = False


def epoch_stored(epoch=EPOCH, rows=ROWS):
    services.epoch_stake_apply_part(state=stake_part(epoch, rows), version=1)


def table(poll) -> dict[str, tuple]:
    return {
        r.stake_address: (r.lovelace, r.loyalty, r.uncapped, r.power)
        for r in PollPower.objects.filter(poll=poll)
    }


def powers(poll) -> dict[str, int | None]:
    return {address: values[3] for address, values in table(poll).items()}


@pytest.mark.parametrize(
    "formula, expected",
    [
        ("stake", {A: 1500, B: 250, C: 10_000, D: 0, E: 8_999_999_999_999}),
        ("sqrt_stake", {A: 38, B: 15, C: 100, D: 0, E: 2_999_999}),
        ("stake_x_loyalty", {A: 4500, B: 250, C: 100_000, D: 0, E: 17_999_999_999_998}),
    ],
)
def test_each_stake_formula_by_hand(formula, expected):
    epoch_stored()
    poll = make_poll(power_formula=formula, snapshot_epoch=EPOCH)
    assert powers(poll) == expected
    assert table(poll)[A] == (1_500_000_000, 3, expected[A], expected[A])
    frozen = PollPowerTable.objects.get(pk=poll.pk)
    assert (frozen.power_formula, frozen.snapshot_epoch, frozen.cap) == (formula, EPOCH, None)
    assert frozen.uncapped_total == sum(expected.values())


def test_minimum_stake_leaves_smaller_addresses_out():
    epoch_stored()
    poll = make_poll(power_formula="stake", snapshot_epoch=EPOCH, min_stake_lovelace=1_500_000_000)
    assert powers(poll) == {A: 1500, C: 10_000, E: 8_999_999_999_999}


def test_cap_cuts_the_excess_and_gives_it_to_nobody():
    epoch_stored(rows=ROWS[:4])  # 1500 + 250 + 10000 + 0 = 11750 ada
    poll = make_poll(power_formula="stake", snapshot_epoch=EPOCH, cap_percent=50)
    # floor(11750 * 50 / 100) = 5875: Carol is cut to it, the others keep theirs.
    assert table(poll)[C] == (10_000_000_000, 10, 10_000, 5875)
    assert powers(poll) == {A: 1500, B: 250, C: 5875, D: 0}
    frozen = PollPowerTable.objects.get(pk=poll.pk)
    assert (frozen.uncapped_total, frozen.cap) == (11_750, 5875)
    summary = power_summary(poll=poll)
    assert (summary.eligible, summary.total_power) == (4, 1500 + 250 + 5875)


def test_points_formula_takes_the_points_of_the_addresses_voters():
    make_voter(points=100, stake_address=A)
    make_voter(points=40, stake_address=C)
    make_voter(points=999, stake_address=B, is_active=False)  # not a voter now: not counted
    epoch_stored(rows=ROWS[:4])
    poll = make_poll(power_formula="points", snapshot_epoch=EPOCH, cap_percent=50)
    # Known points 100 + 40 = 140, cap floor(140 * 50 / 100) = 70; Bob and Dan have no voter
    # yet: their power is frozen when first needed (tests/apis/test_power.py).
    assert powers(poll) == {A: 70, B: None, C: 40, D: None}
    assert PollPowerTable.objects.get(pk=poll.pk).cap == 70


def test_a_later_stake_or_points_change_does_not_change_the_table():
    voter = make_voter(points=100, stake_address=A)
    epoch_stored()
    poll = make_poll(power_formula="points", snapshot_epoch=EPOCH)
    before = table(poll)
    services.voters_apply_account_states(
        states=[(account_state(voter.pk, points=5, stake_address=A), voter.source_version + 1)]
    )
    epoch_stored(epoch=EPOCH + 1, rows=[[A, 1, 1]])
    set_poll(poll, title="Renamed")
    assert table(poll) == before


def test_frozen_only_when_the_poll_takes_ballots_and_its_epoch_is_complete():
    poll = make_poll(
        power_formula="stake", snapshot_epoch=EPOCH, status="scheduled", opens_in=timedelta(hours=1)
    )
    services.epoch_stake_apply_part(state=stake_part(EPOCH, ROWS[:2], part=0, parts=2), version=1)
    assert not epoch_complete(epoch=EPOCH)
    poll = set_poll(poll, status="open")
    assert not PollPowerTable.objects.filter(pk=poll.pk).exists()  # half an epoch: not yet
    # The last part, through the consumer: the waiting poll is frozen with it.
    outcome = apply_batch([epoch_stake_message(stake_part(EPOCH, ROWS[2:], part=1, parts=2))])
    assert [o.action for o in outcome] == [Action.ACK]
    assert epoch_complete(epoch=EPOCH)
    assert powers(poll) == {A: 1500, B: 250, C: 10_000, D: 0, E: 8_999_999_999_999}


def test_the_tally_task_freezes_what_was_missed(settings):
    epoch_stored()
    settings.OPEN_ELIGIBILITY = True  # as if the mode changed after the poll opened
    poll = make_poll(power_formula="stake", snapshot_epoch=EPOCH)
    assert not PollPowerTable.objects.filter(pk=poll.pk).exists()
    settings.OPEN_ELIGIBILITY = False
    assert services.powers_freeze_due() == [poll.pk]
    assert services.powers_freeze_due() == []
    assert powers(poll)[A] == 1500


def test_an_empty_epoch_freezes_an_empty_table():
    epoch_stored(rows=[])
    poll = make_poll(power_formula="stake", snapshot_epoch=EPOCH, cap_percent=10)
    assert table(poll) == {}
    assert (PollPowerTable.objects.get(pk=poll.pk).cap, power_summary(poll=poll).eligible) == (0, 0)


def test_same_parts_in_any_order_or_twice_give_the_same_table():
    halves = [
        stake_part(EPOCH, ROWS[:3], part=0, parts=2),
        stake_part(EPOCH, ROWS[3:], part=1, parts=2),
    ]
    for state in halves:
        services.epoch_stake_apply_part(state=state, version=1)
    poll = make_poll(power_formula="sqrt_stake", snapshot_epoch=EPOCH, cap_percent=40)
    first = table(poll)
    # Frozen again from scratch: the same rows.
    PollPower.objects.filter(poll=poll).delete()
    PollPowerTable.objects.filter(pk=poll.pk).delete()
    assert services.powers_freeze_due() == [poll.pk]
    assert table(poll) == first
    # A replay: the replicas rebuilt from the stream, parts in the other order and redelivered.
    PollPower.objects.filter(poll=poll).delete()
    PollPowerTable.objects.filter(pk=poll.pk).delete()
    EpochStake.objects.all().delete()
    EpochStakePartReplica.objects.all().delete()
    outcomes = apply_batch(
        [
            epoch_stake_message(halves[1]),
            epoch_stake_message(halves[0]),
            epoch_stake_message(halves[1]),
        ]
    )
    assert {o.action for o in outcomes} == {Action.ACK}
    assert EpochStake.objects.count() == len(ROWS)
    assert table(poll) == first


def test_a_part_is_version_guarded_and_replaces_its_rows():
    assert services.epoch_stake_apply_part(state=stake_part(EPOCH, ROWS[:2]), version=2)
    assert not services.epoch_stake_apply_part(state=stake_part(EPOCH, ROWS), version=2)
    assert not services.epoch_stake_apply_part(state=stake_part(EPOCH, ROWS), version=1)
    assert set(EpochStake.objects.values_list("stake_address", flat=True)) == {A, B}
    assert services.epoch_stake_apply_part(state=stake_part(EPOCH, ROWS[2:]), version=3)
    assert set(EpochStake.objects.values_list("stake_address", flat=True)) == {C, D, E}


@pytest.mark.parametrize(
    "rows",
    [[["stake1x", -1, 1]], [["stake1x", 1]], [[1, 1, 1]], [["stake1x", True, 1]], [["", 1, 1]]],
)
def test_a_malformed_row_is_refused_and_nothing_is_stored(rows):
    with pytest.raises(ValueError, match="is not"):
        services.epoch_stake_apply_part(state=stake_part(EPOCH, rows), version=1)
    assert not EpochStakePartReplica.objects.exists()


def test_open_mode_freezes_nothing_at_open(settings):
    settings.CHAIN_SOURCE = "none"
    epoch_stored()
    poll = make_poll(power_formula="stake", snapshot_epoch=EPOCH)
    assert not PollPowerTable.objects.filter(pk=poll.pk).exists()
    assert services.powers_freeze_due() == []


def test_twenty_thousand_delegators_freeze_in_one_statement(django_assert_max_num_queries):
    rows = [[f"stake1_{n:06d}", 1_000_000 * (n + 1), n % 7 + 1] for n in range(20_000)]
    for part in range(20):
        services.epoch_stake_apply_part(
            state=stake_part(EPOCH, rows[part * 1000 : (part + 1) * 1000], part=part, parts=20),
            version=1,
        )
    poll = make_poll(power_formula="stake", snapshot_epoch=EPOCH, status="scheduled")
    with django_assert_max_num_queries(20):
        set_poll(poll, status="open")
    assert PollPower.objects.filter(poll=poll).count() == 20_000
    assert PollPowerTable.objects.get(pk=poll.pk).uncapped_total == 20_000 * 20_001 // 2


def test_the_readmes_worked_example():
    epoch_stored(
        rows=[
            [A, 1_500_000_000, 3],
            [B, 250_999_999, 4],
            [C, 10_000_000_000, 2],
            [D, 99_000_000, 8],
        ]
    )
    poll = make_poll(
        power_formula="stake_x_loyalty",
        snapshot_epoch=EPOCH,
        min_stake_lovelace=100_000_000,
        cap_percent=50,
    )
    assert powers(poll) == {A: 4500, B: 1000, C: 12_750}
    assert power_summary(poll=poll).total_power == 18_250
