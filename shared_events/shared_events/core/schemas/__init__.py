"""Event schemas: the envelope, the type registry and one module per producer."""

from . import accounts, polls, voting  # noqa: F401  (register each producer's event types)
from .base import EventData, EventDecodeError
from .envelope import Envelope
from .registry import (
    Event,
    EventType,
    UnknownEventType,
    all_event_types,
    decode,
    define_aggregate_events,
    get_event_type,
    stream_for_producer,
    subject_for,
)

__all__ = [
    "Envelope",
    "Event",
    "EventData",
    "EventDecodeError",
    "EventType",
    "UnknownEventType",
    "all_event_types",
    "decode",
    "define_aggregate_events",
    "get_event_type",
    "stream_for_producer",
    "subject_for",
]
