"""The JetStream streams, one per producer, declared in one place for every service."""

from __future__ import annotations

import dataclasses

from . import conf
from .schemas import stream_for_producer

PRODUCERS = ("accounts", "polls", "voting")


@dataclasses.dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    replicas: int
    max_msgs_per_subject: int
    duplicate_window_seconds: float


def stream_spec(producer: str) -> StreamSpec:
    if not producer.isidentifier() or producer != producer.lower():
        raise ValueError(f"a producer is a lower-case name, not {producer!r}")
    return StreamSpec(
        name=stream_for_producer(producer),
        subjects=(f"{producer}.>",),
        replicas=conf.get("STREAM_REPLICAS"),
        max_msgs_per_subject=conf.get("STREAM_MAX_MSGS_PER_SUBJECT"),
        duplicate_window_seconds=conf.get("STREAM_DUPLICATE_WINDOW_SECONDS"),
    )


def all_stream_specs() -> list[StreamSpec]:
    return [stream_spec(p) for p in PRODUCERS]
