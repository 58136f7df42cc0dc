import json
import uuid
from datetime import UTC, datetime

import pytest

from shared_events.core.schemas import Envelope, EventDecodeError, UnknownEventType, decode
from tests.testapp.events import GadgetState, WidgetState


def envelope_bytes(**overrides) -> bytes:
    doc = {
        "id": str(uuid.uuid4()),
        "type": "testing.widget.updated",
        "schema_version": 1,
        "aggregate_id": "w1",
        "version": 3,
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": {"id": "w1", "name": "gear", "color": "blue"},
    }
    doc.update(overrides)
    return json.dumps(doc).encode()


def test_envelope_round_trip_decodes_to_the_typed_payload():
    envelope = Envelope(
        id=uuid.uuid4(),
        type="testing.widget.created",
        schema_version=1,
        aggregate_id="w1",
        version=1,
        occurred_at=datetime.now(UTC),
        data=WidgetState(id="w1", name="gear", color="red").to_dict(),
    )
    event = decode(envelope.to_json())
    assert event.envelope == envelope
    assert event.data == WidgetState(id="w1", name="gear", color="red", deleted=False)


def test_unknown_keys_are_ignored_for_forward_compatibility():
    raw = envelope_bytes(data={"id": "w1", "name": "gear", "color": "blue", "added_later": 1})
    assert decode(raw).data.name == "gear"


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (envelope_bytes(type="testing.nothing.updated"), "unknown event type"),
        (envelope_bytes(id="not-a-uuid"), "malformed envelope"),
        (envelope_bytes(version=0), "start at 1"),
        (envelope_bytes(version="3"), "malformed envelope"),
        (envelope_bytes(data={"id": "w1", "name": "gear"}), "missing field 'color'"),
        (envelope_bytes(data={"id": "w1", "name": 5, "color": "x"}), "name: expected str"),
        (envelope_bytes(data=[]), "data is not an object"),
        (envelope_bytes(schema_version=9), "newer than this code"),
        (b"{" + b" " * 600_000 + b"}", "bytes, more than"),
    ],
)
def test_undecodable_events_raise_decode_errors(raw, message):
    with pytest.raises(EventDecodeError, match=message):
        decode(raw)


def test_unknown_type_is_a_decode_error_subclass():
    with pytest.raises(UnknownEventType):
        decode(envelope_bytes(type="testing.nothing.updated"))


def test_a_bool_is_not_accepted_as_an_integer():
    raw = envelope_bytes(
        type="testing.sprocket.updated",
        data={"id": "s1", "widget_id": "w1", "teeth": True},
    )
    with pytest.raises(EventDecodeError, match="teeth: expected an integer"):
        decode(raw)


def test_old_schema_versions_keep_decoding_through_upcasters():
    v1 = envelope_bytes(
        type="testing.gadget.updated", schema_version=1, data={"id": "g1", "colour": "green"}
    )
    v2 = envelope_bytes(
        type="testing.gadget.updated",
        schema_version=2,
        data={"id": "g1", "color": "green", "size": 4},
    )
    assert decode(v1).data == GadgetState(id="g1", color="green", size=0)
    assert decode(v2).data == GadgetState(id="g1", color="green", size=4)


POLL_BEFORE_POWER = {
    "id": "p1",
    "title": "Q3",
    "description": "",
    "fund_lovelace": 5,
    "opens_at": "2026-01-01T00:00:00+00:00",
    "closes_at": "2026-01-08T00:00:00+00:00",
    "status": "open",
    "results_visibility": "live",
    "causes": ["c1", "c2"],
}
TALLY_BEFORE_POWER = {
    "poll_id": "p1",
    "causes": [{"cause_id": "c1", "points": 3, "voters": 1}],
    "ballots": 1,
    "total_points": 3,
    "final": False,
    "ballots_digest": None,
    "computed_at": "2026-01-02T00:00:00+00:00",
}


def test_polls_and_tallies_from_before_voting_power_still_decode_with_the_old_behaviour():
    poll = decode(envelope_bytes(type="polls.poll.updated", data=POLL_BEFORE_POWER)).data
    assert (poll.power_formula, poll.min_stake_lovelace, poll.cap_percent, poll.snapshot_epoch) == (
        "points",
        0,
        None,
        None,
    )
    tally = decode(envelope_bytes(type="voting.tally.updated", data=TALLY_BEFORE_POWER)).data
    assert (tally.power_formula, tally.snapshot_epoch, tally.eligible, tally.total_power) == (
        None,
        None,
        None,
        None,
    )


def test_the_voting_power_fields_travel_in_polls_and_tallies():
    power = {
        "power_formula": "sqrt_stake",
        "min_stake_lovelace": 10_000_000,
        "cap_percent": 20,
        "snapshot_epoch": 512,
    }
    poll = decode(
        envelope_bytes(type="polls.poll.updated", data={**POLL_BEFORE_POWER, **power})
    ).data
    assert {name: getattr(poll, name) for name in power} == power
    assert {name: poll.to_dict()[name] for name in power} == power
    counted = {
        "power_formula": "sqrt_stake",
        "snapshot_epoch": 512,
        "eligible": 40,
        "total_power": 1_234,
    }
    tally = decode(
        envelope_bytes(type="voting.tally.updated", data={**TALLY_BEFORE_POWER, **counted})
    ).data
    assert {name: getattr(tally, name) for name in counted} == counted


@pytest.mark.parametrize(
    "kind, base, field, value",
    [
        ("polls.poll.updated", POLL_BEFORE_POWER, "cap_percent", "20"),
        ("polls.poll.updated", POLL_BEFORE_POWER, "min_stake_lovelace", None),
        ("polls.poll.updated", POLL_BEFORE_POWER, "snapshot_epoch", True),
        ("voting.tally.updated", TALLY_BEFORE_POWER, "total_power", 1.5),
        ("voting.tally.updated", TALLY_BEFORE_POWER, "eligible", "40"),
    ],
)
def test_a_voting_power_field_of_the_wrong_type_is_a_poison_message(kind, base, field, value):
    with pytest.raises(EventDecodeError, match=field):
        decode(envelope_bytes(type=kind, data={**base, field: value}))


def epoch_stake_bytes(**data) -> bytes:
    doc = {
        "epoch": 512,
        "part": 0,
        "parts": 1,
        "pool_id": "pool1x",
        "rows": [["stake1a", 5_000_000, 3]],
        **data,
    }
    return envelope_bytes(
        type="accounts.epoch_stake.created", aggregate_id="512-0", version=1, data=doc
    )


def test_an_epoch_stake_part_decodes_to_its_typed_payload():
    from shared_events.core.schemas.accounts import EpochStakePart

    event = decode(epoch_stake_bytes())
    assert event.data == EpochStakePart(
        epoch=512, part=0, parts=1, pool_id="pool1x", rows=[["stake1a", 5_000_000, 3]]
    )
    assert event.data.aggregate_id == "512-0" and event.data.loyalty_window is None
    # A column added later is tolerated; the first three keep their meaning.
    assert decode(epoch_stake_bytes(rows=[["stake1a", 1, 1, "later"]])).data.rows[0][2] == 1


@pytest.mark.parametrize(
    "data, message",
    [
        ({"rows": [["stake1a", 5]]}, r"rows\[0\] is not \[stake_address, lovelace, loyalty\]"),
        ({"rows": [[5, 5, 1]]}, r"rows\[0\] is not"),
        ({"rows": [["stake1a", -1, 1]]}, r"rows\[0\] is not"),
        ({"rows": [["stake1a", 1, True]]}, "expected an integer"),
        ({"rows": [["stake1a", 1.5, 1]]}, "expected"),
        ({"rows": ["stake1a"]}, "expected a list"),
        ({"part": 1, "parts": 1}, "part 1 of 1"),
        ({"parts": 0}, "part 0 of 0"),
    ],
)
def test_a_malformed_epoch_stake_part_is_a_decode_error(data, message):
    with pytest.raises(EventDecodeError, match=message):
        decode(epoch_stake_bytes(**data))


def test_a_full_part_stays_far_below_the_event_size_limit():
    from shared_events.core.schemas.accounts import EPOCH_STAKE_ROWS_PER_PART, EpochStakePart
    from shared_events.core.schemas.envelope import MAX_EVENT_BYTES

    # The longest there is: testnet addresses, the most lovelace there is, a long loyalty.
    address = "stake_test1" + "q" * 53
    part = EpochStakePart(
        epoch=10**6,
        part=0,
        parts=1,
        pool_id="pool1" + "q" * 51,
        rows=[[address, 45 * 10**15, 10**4]] * EPOCH_STAKE_ROWS_PER_PART,
        loyalty_window=10**4,
    )
    raw = Envelope(
        id=uuid.uuid4(),
        type="accounts.epoch_stake.created",
        schema_version=1,
        aggregate_id="1000000-0",
        version=1,
        occurred_at=datetime.now(UTC),
        data=part.to_dict(),
    ).to_json()
    assert len(raw) < MAX_EVENT_BYTES / 4
    assert decode(raw).data == part
