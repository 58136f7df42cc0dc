"""Event types of the test producer "testing"."""

import dataclasses

from shared_events.core.schemas import EventData, define_aggregate_events


@dataclasses.dataclass(frozen=True, kw_only=True)
class WidgetState(EventData):
    id: str
    name: str
    color: str
    deleted: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class SprocketState(EventData):
    id: str
    widget_id: str
    teeth: int
    deleted: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class GadgetState(EventData):
    """Schema version 2: version 1 spelled the field `colour` and had no `size`."""

    id: str
    color: str
    size: int


def _gadget_v1_to_v2(data: dict) -> dict:
    data["color"] = data.pop("colour")
    data.setdefault("size", 0)
    return data


WIDGET_EVENTS = define_aggregate_events("testing.widget", WidgetState)
SPROCKET_EVENTS = define_aggregate_events("testing.sprocket", SprocketState)
GADGET_EVENTS = define_aggregate_events(
    "testing.gadget",
    GadgetState,
    verbs=("updated",),
    schema_version=2,
    upcasters={1: _gadget_v1_to_v2},
)
