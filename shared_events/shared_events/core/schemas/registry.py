"""Which event types exist, which payload class decodes each, and how old schema versions upcast.

Every producer module (accounts.py, polls.py, ...) registers its types at import; the package
imports them all, so a consumer knows every type any service can emit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from .base import EventData, EventDecodeError
from .envelope import Envelope

D = TypeVar("D", bound=EventData)
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(EventDecodeError):
    pass


@dataclasses.dataclass(frozen=True)
class EventType:
    name: str
    aggregate: str
    data_class: type[EventData]
    schema_version: int
    # upcasters[n] turns a schema-version-n payload into version n + 1.
    upcasters: dict[int, Upcaster]

    @property
    def producer(self) -> str:
        return self.name.split(".", 1)[0]

    def decode_data(self, schema_version: int, data: dict[str, Any]) -> EventData:
        if schema_version > self.schema_version:
            raise EventDecodeError(
                f"{self.name} schema_version {schema_version} is newer than this code "
                f"understands ({self.schema_version}); deploy the consumer first"
            )
        for version in range(schema_version, self.schema_version):
            if version not in self.upcasters:
                raise EventDecodeError(f"{self.name}: no upcaster from schema_version {version}")
            data = self.upcasters[version](dict(data))
        return self.data_class.from_dict(data)


@dataclasses.dataclass(frozen=True)
class Event(Generic[D]):
    """A decoded event: its envelope and its typed payload."""

    envelope: Envelope
    data: D

    @property
    def type(self) -> str:
        return self.envelope.type

    @property
    def version(self) -> int:
        return self.envelope.version


_TYPES: dict[str, EventType] = {}


def define_aggregate_events(
    aggregate: str,
    data_class: type[EventData],
    *,
    verbs: Iterable[str] = ("created", "updated", "deleted"),
    schema_version: int = 1,
    upcasters: dict[int, Upcaster] | None = None,
) -> dict[str, EventType]:
    """Register `<aggregate>.<verb>` for each verb, all carrying the aggregate's full state."""
    if aggregate.count(".") != 1:
        raise ValueError("an aggregate is named <producer>.<aggregate>, e.g. accounts.account")
    defined = {}
    for verb in verbs:
        name = f"{aggregate}.{verb}"
        if name in _TYPES:
            raise ValueError(f"event type {name} is defined twice")
        _TYPES[name] = defined[verb] = EventType(
            name, aggregate, data_class, schema_version, dict(upcasters or {})
        )
    return defined


def get_event_type(name: str) -> EventType:
    try:
        return _TYPES[name]
    except KeyError:
        raise UnknownEventType(f"unknown event type {name!r}") from None


def all_event_types() -> dict[str, EventType]:
    return dict(_TYPES)


def decode(raw: bytes) -> Event[EventData]:
    """Bytes from NATS to a typed event; raises EventDecodeError for anything unusable."""
    envelope = Envelope.from_json(raw)
    event_type = get_event_type(envelope.type)
    return Event(envelope, event_type.decode_data(envelope.schema_version, envelope.data))


def subject_for(aggregate: str, aggregate_id: str) -> str:
    """Subjects end in the aggregate id, so a stream with a small per-subject limit keeps a
    compacted snapshot of every aggregate."""
    return f"{aggregate}.{aggregate_id}"


def stream_for_producer(producer: str) -> str:
    return producer.upper()
