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
        id=uuid.uuid4(), type="testing.widget.created", schema_version=1, aggregate_id="w1",
        version=1, occurred_at=datetime.now(UTC),
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
    v1 = envelope_bytes(type="testing.gadget.updated", schema_version=1,
                        data={"id": "g1", "colour": "green"})
    v2 = envelope_bytes(type="testing.gadget.updated", schema_version=2,
                        data={"id": "g1", "color": "green", "size": 4})
    assert decode(v1).data == GadgetState(id="g1", color="green", size=0)
    assert decode(v2).data == GadgetState(id="g1", color="green", size=4)
