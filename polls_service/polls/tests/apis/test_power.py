"""A poll's voting power over the API: operators choose it until the poll opens, everyone
reads it, the results say how power was counted, and the schema documents it all."""

import pytest

from polls.models import Poll
from polls.tests.apis.test_polls import new_poll_body
from polls.tests.conftest import client_with
from polls.tests.factories import closed_poll, make_cause, make_poll, open_poll, tally_message
from shared_events.core.consumer.apply import apply_batch
from shared_events.kit.epochs import epoch_at

pytestmark = pytest.mark.django_db
API = "/polls/api/polls/"
POWER = ("power_formula", "min_stake_lovelace", "cap_percent", "snapshot_epoch")


@pytest.fixture
def chain_mode(settings):
    settings.CHAIN_SOURCE = "blockfrost"


def power_in(body: dict) -> dict:
    return {name: body[name] for name in POWER}


def test_a_new_poll_says_its_defaults(as_operator, as_delegator):
    body = as_operator.post(API, new_poll_body([make_cause(), make_cause()]), format="json").json()
    assert power_in(body) == {
        "power_formula": "points",
        "min_stake_lovelace": 0,
        "cap_percent": None,
        "snapshot_epoch": None,
    }


def test_operators_choose_the_power_and_everyone_reads_it(chain_mode, as_operator, as_delegator):
    chosen = {
        "power_formula": "stake_x_loyalty",
        "min_stake_lovelace": 25_000_000,
        "cap_percent": 10,
    }
    created = as_operator.post(
        API, new_poll_body([make_cause(), make_cause()], **chosen), format="json"
    )
    assert created.status_code == 201, created.json()
    poll = Poll.objects.get(pk=created.json()["id"])
    epoch = epoch_at(poll.opens_at) - 1
    changed = as_operator.patch(
        f"{API}{poll.pk}/", {"snapshot_epoch": epoch, "cap_percent": 5}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    as_operator.post(f"{API}{poll.pk}/schedule/", format="json")
    expected = {**chosen, "cap_percent": 5, "snapshot_epoch": epoch}
    assert power_in(as_delegator.get(f"{API}{poll.pk}/").json()) == expected
    assert power_in(as_delegator.get(API).json()["results"][0]) == expected
    cleared = as_operator.patch(f"{API}{poll.pk}/", {"cap_percent": None}, format="json")
    assert cleared.status_code == 200 and cleared.json()["cap_percent"] is None


@pytest.mark.parametrize(
    "field, value",
    [
        ("power_formula", "votes"),
        ("power_formula", None),
        ("power_formula", 1),
        ("min_stake_lovelace", -1),
        ("min_stake_lovelace", "5"),
        ("min_stake_lovelace", 1.0),
        ("min_stake_lovelace", True),
        ("min_stake_lovelace", None),
        ("min_stake_lovelace", 45 * 10**15 + 1),
        ("cap_percent", 0),
        ("cap_percent", 101),
        ("cap_percent", "20"),
        ("cap_percent", 2.5),
        ("snapshot_epoch", -1),
        ("snapshot_epoch", "512"),
        ("snapshot_epoch", 2**31),
        ("snapshot_epoch", 10**40),
        ("snapshot_epoch", [1]),
    ],
)
def test_a_setting_out_of_its_range_is_a_400_naming_it(chain_mode, as_operator, field, value):
    response = as_operator.post(API, new_poll_body([], **{field: value}), format="json")
    assert response.status_code == 400 and list(response.json()) == [field]
    assert not Poll.objects.exists()


def test_a_snapshot_epoch_after_the_opening_is_a_400(chain_mode, as_operator):
    poll = make_poll()
    later = epoch_at(poll.opens_at) + 1
    response = as_operator.patch(f"{API}{poll.pk}/", {"snapshot_epoch": later}, format="json")
    assert response.status_code == 400
    assert "cannot be after the epoch the poll opens in" in response.json()["snapshot_epoch"][0]


@pytest.mark.parametrize("formula", ["stake", "sqrt_stake", "stake_x_loyalty"])
def test_in_the_open_mode_a_stake_formula_is_a_400_saying_it_needs_a_chain_source(
    as_operator, formula
):
    response = as_operator.post(API, new_poll_body([], power_formula=formula), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["power_formula"]
    assert "needs a chain source" in response.json()["power_formula"][0]
    assert not Poll.objects.exists()
    poll = make_poll()
    response = as_operator.patch(f"{API}{poll.pk}/", {"power_formula": formula}, format="json")
    assert response.status_code == 400
    assert "needs a chain source" in response.json()["power_formula"][0]
    response = as_operator.patch(f"{API}{poll.pk}/", {"min_stake_lovelace": 1}, format="json")
    assert response.status_code == 400
    assert "needs a chain source" in response.json()["min_stake_lovelace"][0]


@pytest.mark.parametrize(
    "field, value",
    [
        ("power_formula", "sqrt_stake"),
        ("min_stake_lovelace", 7),
        ("cap_percent", 30),
        ("snapshot_epoch", 1),
        ("snapshot_epoch", None),
    ],
)
def test_once_open_every_setting_is_a_400_naming_it(chain_mode, as_operator, field, value):
    poll = open_poll()
    response = as_operator.patch(f"{API}{poll.pk}/", {field: value}, format="json")
    assert response.status_code == 400
    assert response.json() == {field: ["This cannot change once the poll is open."]}


def test_opening_shows_the_snapshot_epoch(as_delegator):
    poll = open_poll()
    assert as_delegator.get(f"{API}{poll.pk}/").json()["snapshot_epoch"] == epoch_at(poll.opens_at)


def test_delegators_cannot_choose_the_power(as_delegator):
    poll = make_poll()
    response = as_delegator.patch(f"{API}{poll.pk}/", {"cap_percent": 1}, format="json")
    assert response.status_code == 403


# Results


def test_live_results_say_how_power_is_counted_once_voting_says(as_delegator):
    poll = open_poll()
    a, b = poll.causes.order_by("poll_entries__position")
    before = as_delegator.get(f"{API}{poll.pk}/results/").json()
    assert (
        before["power_formula"],
        before["snapshot_epoch"],
        before["eligible"],
        before["total_power"],
    ) == ("points", poll.snapshot_epoch, None, None)
    apply_batch(
        [
            tally_message(
                poll,
                1,
                {a: (30, 2), b: (10, 1)},
                power={
                    "power_formula": "points",
                    "snapshot_epoch": poll.snapshot_epoch,
                    "eligible": 7,
                    "total_power": 700,
                },
            )
        ]
    )
    body = as_delegator.get(f"{API}{poll.pk}/results/").json()
    assert (
        body["power_formula"],
        body["snapshot_epoch"],
        body["eligible"],
        body["total_power"],
        body["total_points"],
    ) == ("points", poll.snapshot_epoch, 7, 700, 40)


def test_final_results_say_how_power_was_counted(chain_mode, as_delegator):
    poll = closed_poll(power_formula="sqrt_stake", cap_percent=25)
    a, b = poll.causes.order_by("poll_entries__position")
    apply_batch(
        [
            tally_message(
                poll,
                3,
                {a: (9, 2), b: (3, 1)},
                final=True,
                power={
                    "power_formula": "sqrt_stake",
                    "snapshot_epoch": poll.snapshot_epoch,
                    "eligible": 3,
                    "total_power": 14,
                },
            )
        ]
    )
    body = as_delegator.get(f"{API}{poll.pk}/results/").json()
    assert (
        body["final"],
        body["power_formula"],
        body["snapshot_epoch"],
        body["eligible"],
        body["total_power"],
        body["total_points"],
    ) == (True, "sqrt_stake", poll.snapshot_epoch, 3, 14, 12)


def test_the_schema_documents_the_power_fields_and_their_bounds(db):
    schema = client_with(None).get("/polls/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    request = components["PollInputRequest"]["properties"]
    assert request["cap_percent"]["minimum"] == 1 and request["cap_percent"]["maximum"] == 100
    assert request["cap_percent"]["nullable"] is True
    assert request["min_stake_lovelace"]["minimum"] == 0
    for documented in (request, components["PollDetailOutput"]["properties"]):
        assert (
            "The stake formulas need a chain source" in documented["power_formula"]["description"]
        )
    assert {"power_formula", "snapshot_epoch", "eligible", "total_power"} <= set(
        components["PollResultsOutput"]["properties"]
    )
