"""The JetStream streams, one per producer, declared in one place for every service, and made
so on the server (`ensure_stream`) by the producer's processes (its relay and its consumer);
no other service's NATS user may create or change them."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, SubjectTransform

from .. import conf
from ..partitions import stream_partitions, subject_transform
from ..schemas import stream_for_producer

log = logging.getLogger(__name__)

PRODUCERS = ("accounts", "polls", "voting")


@dataclasses.dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    replicas: int
    max_msgs_per_subject: int
    duplicate_window_seconds: float
    # (source, destination) storing each message under its partition; None: one partition.
    transform: tuple[str, str] | None = None


def stream_spec(producer: str) -> StreamSpec:
    if not producer.isidentifier() or producer != producer.lower():
        raise ValueError(f"a producer is a lower-case name, not {producer!r}")
    return StreamSpec(
        name=stream_for_producer(producer),
        subjects=(f"{producer}.>",),
        replicas=conf.get("STREAM_REPLICAS"),
        max_msgs_per_subject=conf.get("STREAM_MAX_MSGS_PER_SUBJECT"),
        duplicate_window_seconds=conf.get("STREAM_DUPLICATE_WINDOW_SECONDS"),
        transform=subject_transform(producer, stream_partitions()),
    )


def all_stream_specs() -> list[StreamSpec]:
    return [stream_spec(p) for p in PRODUCERS]


def _stream_config(spec: StreamSpec) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        num_replicas=spec.replicas,
        max_msgs_per_subject=spec.max_msgs_per_subject,
        duplicate_window=spec.duplicate_window_seconds,
        subject_transform=SubjectTransform(src=spec.transform[0], dest=spec.transform[1])
        if spec.transform
        else None,
    )


def _transform_of(config: StreamConfig) -> tuple[str, str] | None:
    transform = config.subject_transform
    return (transform.src, transform.dest) if transform else None


async def ensure_stream(js: JetStreamContext, spec: StreamSpec) -> None:
    """Create the stream, or bring its limits in line with the spec. Safe to run anywhere."""
    wanted = _stream_config(spec)
    try:
        info = await js.stream_info(spec.name)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(wanted)
            log.info("created stream %s", spec.name)
            return
        except nats.js.errors.BadRequestError:
            info = await js.stream_info(spec.name)  # another process created it just now
    have = info.config
    if (
        list(have.subjects or []) != wanted.subjects
        or have.max_msgs_per_subject != wanted.max_msgs_per_subject
        or abs((have.duplicate_window or 0) - wanted.duplicate_window) > 0.001
        or (have.num_replicas or 1) != wanted.num_replicas
        or _transform_of(have) != spec.transform
    ):
        # Storage type cannot change in place; everything compared above can (a transform
        # added, changed or dropped applies to the messages stored from then on).
        wanted.storage = have.storage
        await js.update_stream(wanted)
        log.info("updated stream %s", spec.name)


async def stream_exists(js: JetStreamContext, name: str) -> bool:
    try:
        await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        return False
    return True


async def stream_state(js: JetStreamContext, name: str) -> dict[str, Any]:
    info = await js.stream_info(name)
    cfg = info.config
    return {
        "messages": info.state.messages,
        "last_seq": info.state.last_seq,
        "storage": getattr(cfg.storage, "value", cfg.storage),
        "duplicate_window": cfg.duplicate_window,
        "max_msgs_per_subject": cfg.max_msgs_per_subject,
        "replicas": cfg.num_replicas,
        "subjects": list(cfg.subjects or []),
        "transform": _transform_of(cfg),
    }
