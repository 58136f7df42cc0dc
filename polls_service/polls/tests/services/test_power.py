"""A poll's voting power settings: chosen by the operator until the poll opens, refused when
the open mode cannot honour them, and the snapshot epoch fixed by the opening itself."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from polls import services
from polls.models import Poll, PollStatus
from polls.services.power import MAX_EPOCH
from polls.tests.factories import (
    closed_poll,
    last_event,
    make_poll,
    open_poll,
    poll_events,
    scheduled_poll,
)
from shared_events.kit.epochs import epoch_at

pytestmark = pytest.mark.django_db
POWER = ("power_formula", "min_stake_lovelace", "cap_percent", "snapshot_epoch")
STAKE_FORMULAS = ("stake", "sqrt_stake", "stake_x_loyalty")


@pytest.fixture
def chain_mode(settings):
    settings.CHAIN_SOURCE, settings.OPEN_ELIGIBILITY = "koios", False


@pytest.fixture
def hourly_epochs(settings):
    """Hour-long epochs, epoch 1000 starting 100 hours ago on the hour (a demo's clock): easy
    numbers to check. Returns when an epoch starts."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    settings.CARDANO_EPOCH_REFERENCE_NUMBER = 1000
    settings.CARDANO_EPOCH_REFERENCE_START = (now - timedelta(hours=100)).isoformat()
    settings.CARDANO_EPOCH_LENGTH_SECONDS = 3600
    return lambda epoch: now + timedelta(hours=epoch - 1100)


def opening_in(moment: datetime) -> timedelta:
    """`opens_in` for the factories, for a poll that opens at `moment`."""
    return moment - datetime.now(UTC)


def power_of(poll: Poll) -> dict:
    poll.refresh_from_db()
    return {name: getattr(poll, name) for name in POWER}


def published_power(poll: Poll) -> dict:
    return {name: last_event(poll)["data"][name] for name in POWER}


def test_a_new_poll_is_counted_in_points_with_no_minimum_no_cap_and_no_epoch_yet():
    poll = make_poll()
    expected = {
        "power_formula": "points",
        "min_stake_lovelace": 0,
        "cap_percent": None,
        "snapshot_epoch": None,
    }
    assert power_of(poll) == expected and published_power(poll) == expected


@pytest.mark.parametrize("formula", ["points", *STAKE_FORMULAS])
def test_in_chain_mode_the_operator_chooses_any_formula_a_minimum_and_a_cap(chain_mode, formula):
    poll = make_poll(power_formula=formula, min_stake_lovelace=10_000_000, cap_percent=5)
    chosen = {
        "power_formula": formula,
        "min_stake_lovelace": 10_000_000,
        "cap_percent": 5,
        "snapshot_epoch": None,
    }
    assert power_of(poll) == chosen and published_power(poll) == chosen


def test_the_settings_change_while_the_poll_is_a_draft_or_scheduled(chain_mode):
    poll = scheduled_poll()
    opening = epoch_at(poll.opens_at)
    services.poll_update(
        poll=poll,
        power_formula="stake_x_loyalty",
        cap_percent=100,
        snapshot_epoch=opening - 2,
        min_stake_lovelace=1,
    )
    changed = {
        "power_formula": "stake_x_loyalty",
        "min_stake_lovelace": 1,
        "cap_percent": 100,
        "snapshot_epoch": opening - 2,
    }
    assert power_of(poll) == changed and published_power(poll) == changed
    services.poll_update(poll=poll, cap_percent=None, snapshot_epoch=None)
    assert published_power(poll)["cap_percent"] is None
    assert published_power(poll)["snapshot_epoch"] is None


@pytest.mark.parametrize(
    "field, value",
    [
        ("power_formula", "votes"),
        ("power_formula", None),
        ("power_formula", ""),
        ("min_stake_lovelace", -1),
        ("min_stake_lovelace", "5"),
        ("min_stake_lovelace", True),
        ("min_stake_lovelace", 1.5),
        ("min_stake_lovelace", None),
        ("min_stake_lovelace", 45 * 10**15 + 1),
        ("cap_percent", 0),
        ("cap_percent", 101),
        ("cap_percent", -5),
        ("cap_percent", "10"),
        ("cap_percent", 12.5),
        ("cap_percent", False),
        ("snapshot_epoch", -1),
        ("snapshot_epoch", "500"),
        ("snapshot_epoch", True),
        ("snapshot_epoch", MAX_EPOCH + 1),
    ],
)
def test_a_setting_out_of_its_range_is_refused_naming_it(chain_mode, field, value):
    with pytest.raises(ValidationError) as excinfo:
        make_poll(**{field: value})
    assert list(excinfo.value.message_dict) == [field]
    assert not Poll.objects.exists()


def test_the_snapshot_epoch_cannot_be_after_the_epoch_the_poll_opens_in(hourly_epochs):
    opens_at = hourly_epochs(1153) + timedelta(minutes=30)
    values = {
        "title": "Round",
        "fund_lovelace": 1,
        "opens_at": opens_at,
        "closes_at": opens_at + timedelta(days=1),
    }
    with pytest.raises(ValidationError) as excinfo:
        services.poll_create(**values, snapshot_epoch=1154)
    assert excinfo.value.message_dict == {
        "snapshot_epoch": [
            "The snapshot epoch cannot be after the epoch the poll opens in (1153): voting power "
            "is computed when the poll opens."
        ]
    }
    poll = services.poll_create(**values, snapshot_epoch=1153)
    # Moving the opening earlier than the chosen epoch is the same mistake.
    with pytest.raises(ValidationError) as excinfo:
        services.poll_update(poll=poll, opens_at=opens_at - timedelta(hours=1))
    assert list(excinfo.value.message_dict) == ["snapshot_epoch"]
    assert services.poll_create(**values, snapshot_epoch=0).snapshot_epoch == 0


# The open mode (CHAIN_SOURCE=none, the default, or OPEN_ELIGIBILITY=true)


@pytest.mark.parametrize("source, open_eligibility", [("none", False), ("koios", True)])
@pytest.mark.parametrize("formula", STAKE_FORMULAS)
def test_the_open_mode_refuses_a_stake_formula_it_could_not_honour(
    settings, source, open_eligibility, formula
):
    settings.CHAIN_SOURCE, settings.OPEN_ELIGIBILITY = source, open_eligibility
    with pytest.raises(ValidationError) as excinfo:
        make_poll(power_formula=formula)
    (message,) = excinfo.value.message_dict["power_formula"]
    assert list(excinfo.value.message_dict) == ["power_formula"]
    assert message.startswith(f"“{formula}” needs a chain source")
    assert not Poll.objects.exists()
    poll = make_poll()
    with pytest.raises(ValidationError) as excinfo:
        services.poll_update(poll=poll, power_formula=formula)
    assert "needs a chain source" in excinfo.value.message_dict["power_formula"][0]
    assert power_of(poll)["power_formula"] == "points"


def test_the_open_mode_refuses_a_minimum_stake_but_takes_points_a_cap_and_an_epoch():
    with pytest.raises(ValidationError) as excinfo:
        make_poll(min_stake_lovelace=1)
    assert excinfo.value.message_dict["min_stake_lovelace"][0].startswith(
        "A minimum stake needs a chain source"
    )
    poll = make_poll(
        power_formula="points",
        min_stake_lovelace=0,
        cap_percent=20,
        snapshot_epoch=epoch_at(make_poll().opens_at),
    )
    assert power_of(poll)["cap_percent"] == 20


def test_a_stake_draft_from_chain_mode_keeps_its_wording_open_to_change_but_is_not_scheduled(
    settings,
):
    settings.CHAIN_SOURCE = "blockfrost"
    poll = make_poll(power_formula="sqrt_stake", min_stake_lovelace=5)
    settings.CHAIN_SOURCE = "none"
    services.poll_update(
        poll=poll, title="Renamed", power_formula="sqrt_stake", min_stake_lovelace=5
    )  # unchanged values, as a form sends them
    with pytest.raises(ValidationError) as excinfo:
        services.poll_schedule(poll=poll)
    assert set(excinfo.value.message_dict) == {"power_formula", "min_stake_lovelace"}
    poll.refresh_from_db()
    assert (poll.title, poll.status) == ("Renamed", PollStatus.DRAFT)


# Fixed once the poll opens


@pytest.mark.parametrize(
    "field, value",
    [
        ("power_formula", "stake"),
        ("min_stake_lovelace", 1),
        ("cap_percent", 50),
        ("snapshot_epoch", 0),
        ("snapshot_epoch", None),
    ],
)
@pytest.mark.parametrize("make", [open_poll, closed_poll])
def test_every_setting_is_fixed_once_the_poll_opens(chain_mode, make, field, value):
    poll = make()
    before, events = power_of(poll), len(poll_events(poll))
    with pytest.raises(ValidationError) as excinfo:
        services.poll_update(poll=poll, **{field: value})
    assert excinfo.value.message_dict == {
        field: [f"This cannot change once the poll is {poll.status}."]
    }
    assert power_of(poll) == before and len(poll_events(poll)) == events
    # Its own value sent back (as a form does) is no change.
    services.poll_update(poll=poll, **before)


# The snapshot epoch, fixed by the opening


def test_opening_sets_the_snapshot_epoch_to_the_epoch_of_opens_at(hourly_epochs):
    poll = scheduled_poll(opens_in=opening_in(hourly_epochs(1125) + timedelta(minutes=20)))
    assert power_of(poll)["snapshot_epoch"] is None
    services.polls_open_and_close_due(now=poll.opens_at)
    poll.refresh_from_db()
    assert (poll.status, poll.snapshot_epoch) == (PollStatus.OPEN, 1125)
    # The event that says "open" says which epoch's stake counts.
    assert [
        e["data"]["snapshot_epoch"] for e in poll_events(poll) if e["data"]["status"] == "open"
    ] == [1125]


def test_a_poll_that_opens_late_keeps_the_epoch_of_its_opens_at(hourly_epochs):
    poll = scheduled_poll(opens_in=opening_in(hourly_epochs(1007) + timedelta(minutes=59)))
    services.polls_open_and_close_due(now=poll.opens_at + timedelta(hours=5))
    assert power_of(poll)["snapshot_epoch"] == 1007


def test_the_operators_epoch_is_kept_and_a_batch_mixes_both(hourly_epochs, chain_mode):
    start = hourly_epochs(1010) + timedelta(minutes=30)
    chosen = [scheduled_poll(opens_in=opening_in(start), snapshot_epoch=e) for e in (1003, 1010, 0)]
    unset = [scheduled_poll(opens_in=opening_in(start + timedelta(hours=h))) for h in (0, 1, 2)]
    assert services.polls_open_and_close_due(now=start + timedelta(hours=3), batch_size=4) == {
        "opened": 6,
        "closed": 0,
    }
    assert [power_of(p)["snapshot_epoch"] for p in chosen] == [1003, 1010, 0]
    assert [power_of(p)["snapshot_epoch"] for p in unset] == [1010, 1011, 1012]
    assert [last_event(p)["data"]["snapshot_epoch"] for p in [*chosen, *unset]] == [
        1003,
        1010,
        0,
        1010,
        1011,
        1012,
    ]


def test_a_poll_opening_before_the_epoch_clocks_reference_gets_epoch_0(settings):
    """The clock floors to negative epochs before its reference; the column cannot hold them,
    and one such poll must not stop every other from opening."""
    settings.CARDANO_EPOCH_REFERENCE_NUMBER = 0
    settings.CARDANO_EPOCH_REFERENCE_START = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    settings.CARDANO_EPOCH_LENGTH_SECONDS = 60
    early, other = (
        scheduled_poll(opens_in=-timedelta(minutes=1)),
        scheduled_poll(opens_in=-timedelta(minutes=2)),
    )
    assert services.polls_open_and_close_due()["opened"] == 2
    assert power_of(early)["snapshot_epoch"] == power_of(other)["snapshot_epoch"] == 0
