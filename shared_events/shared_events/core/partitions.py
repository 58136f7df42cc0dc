"""Partitions: several consumer processes of one service, each applying a share of the
aggregates, so per-aggregate order holds and no two processes apply the same aggregate.

The layout. A producer publishes to `<producer>.<aggregate>.<id>`. With `STREAM_PARTITIONS`
P > 1, the stream stores each message under `<producer>.<aggregate>.<p>.<id>` instead: a
subject transform of the stream's with `partition(P, …)` on the id token, so every message of
one aggregate (and of every aggregate sharing its id, a poll and its result) lands in the same
partition p. With P = 1 there is no transform: the stream and the consumers are those of before.

The consumers. Partition p has its own durable consumer, `<service>-<stream>-p<p>`, filtered to
`<aggregate>.<p>.*`. Beside them the durable of before (`<service>-<stream>`, filtered to the
unpartitioned `<aggregate>.*`) keeps running in the process that owns partition 0: it holds the
messages stored before the stream had the transform (an upgrade), and those stored while a
process still on P = 1 put the stream back for a moment (a rolling deploy). So whichever layout
a message was stored in, one durable has it; an aggregate whose messages sit in both layouts is
applied by two durables, which the version guard and the inbox make safe.

The owners. `CONSUMER_REPLICAS` R processes, the one of `CONSUMER_REPLICA_INDEX` i owning the
partitions p with p % R == i (R = 1: one process owns them all, as `manage_all.py up` runs).
"""

from __future__ import annotations

import dataclasses
import re
import socket

from django.core.exceptions import ImproperlyConfigured

from . import conf
from .transport.permissions import (
    MAX_STREAM_PARTITIONS,
    durable_name,
    partitioned_durable_name,
)


def stream_partitions() -> int:
    partitions = conf.get("STREAM_PARTITIONS")
    if (
        not isinstance(partitions, int)
        or isinstance(partitions, bool)
        or not 1 <= partitions <= MAX_STREAM_PARTITIONS
    ):
        raise ImproperlyConfigured(
            f"STREAM_PARTITIONS must be 1 to {MAX_STREAM_PARTITIONS} (the NATS users' "
            f"permissions name each partition's consumer), not {partitions!r}"
        )
    return partitions


def subject_transform(producer: str, partitions: int) -> tuple[str, str] | None:
    """(source, destination) of the producer's stream's subject transform; None for one
    partition. Only `<producer>.<aggregate>.<id>` matches the source: a subject of another
    shape is stored as published, and the unpartitioned durable has it."""
    if partitions <= 1:
        return None
    return (
        f"{producer}.*.*",
        f"{producer}.{{{{wildcard(1)}}}}.{{{{partition({partitions},2)}}}}.{{{{wildcard(2)}}}}",
    )


def _aggregate_prefix(subject_filter: str) -> str:
    prefix, _, last = subject_filter.rpartition(".")
    if last != "*" or not prefix:
        raise ValueError(f"a handler's subject filter is <aggregate>.*, not {subject_filter!r}")
    return prefix


def partition_filter(subject_filter: str, partition: int) -> str:
    """`accounts.account.*` -> `accounts.account.<partition>.*`."""
    return f"{_aggregate_prefix(subject_filter)}.{partition}.*"


def replay_filters(subject_filters: list[str]) -> list[str]:
    """Both layouts, whatever STREAM_PARTITIONS says now: a rebuild reads every message kept."""
    out = []
    for subject_filter in subject_filters:
        out += [subject_filter, f"{_aggregate_prefix(subject_filter)}.*.*"]
    return out


def owned_partitions(partitions: int, replicas: int, replica_index: int) -> list[int]:
    if replicas < 1 or not 0 <= replica_index < replicas:
        raise ImproperlyConfigured(
            f"CONSUMER_REPLICA_INDEX {replica_index} is not one of 0..{replicas - 1} "
            f"(CONSUMER_REPLICAS {replicas})"
        )
    if replicas > partitions:
        raise ImproperlyConfigured(
            f"CONSUMER_REPLICAS {replicas} is more than STREAM_PARTITIONS {partitions}: "
            "a replica would own no partition"
        )
    return [p for p in range(partitions) if p % replicas == replica_index]


def replica_index(replicas: int) -> int:
    """CONSUMER_REPLICA_INDEX; unset, 0 for a single replica, else the ordinal a StatefulSet's
    pod has at the end of its name, which is its host name (a cluster without the pod-index
    label leaves the variable empty: two replicas must not both take index 0)."""
    index = conf.get("CONSUMER_REPLICA_INDEX")
    if index is not None:
        return int(index)
    if replicas == 1:
        return 0
    host = socket.gethostname()
    ordinal = re.search(r"-(\d+)$", host)
    if ordinal is None:
        raise ImproperlyConfigured(
            f"CONSUMER_REPLICAS is {replicas} and CONSUMER_REPLICA_INDEX is not set, nor does "
            f"the host name {host!r} end in a StatefulSet ordinal"
        )
    return int(ordinal.group(1))


def this_process_partitions() -> list[int]:
    replicas = conf.get("CONSUMER_REPLICAS")
    return owned_partitions(stream_partitions(), replicas, replica_index(replicas))


@dataclasses.dataclass(frozen=True)
class ConsumerSlot:
    """One durable consumer a process pulls from."""

    stream: str
    durable: str
    subjects: list[str]
    label: str  # how status names it: the stream, or `<stream>/p<p>`
    partition: int | None  # None: the unpartitioned durable


def consumer_slots(
    service: str,
    plan: dict[str, list[str]],
    *,
    partitions: int,
    owned: list[int],
) -> list[ConsumerSlot]:
    """The durable consumers of the partitions `owned`, for the subscription plan (stream ->
    subject filters). The unpartitioned durable goes with partition 0."""
    slots = []
    for stream, subjects in plan.items():
        if 0 in owned:
            slots.append(
                ConsumerSlot(stream, durable_name(service, stream), subjects, stream, None)
            )
        if partitions <= 1:
            continue
        for p in owned:
            slots.append(
                ConsumerSlot(
                    stream,
                    partitioned_durable_name(service, stream, p),
                    [partition_filter(s, p) for s in subjects],
                    f"{stream}/p{p}",
                    p,
                )
            )
    return slots


def every_slot(service: str, plan: dict[str, list[str]]) -> list[ConsumerSlot]:
    """Every durable consumer of the service, whichever process owns it (status, metrics)."""
    partitions = stream_partitions()
    return consumer_slots(service, plan, partitions=partitions, owned=list(range(partitions)))
