"""Rebuilding replicas from the streams: read every retained message from the start and apply
it like a delivery. Safe beside the running consumer (inbox and version guard)."""

from __future__ import annotations

import asyncio
import dataclasses

from .. import conf
from ..partitions import replay_filters
from ..transport.connection import connect
from ..transport.permissions import replay_consumer_name
from ..transport.pull import read_stream
from .apply import Action, IncomingMessage, apply_batch
from .registry import subscriptions


@dataclasses.dataclass
class RebuildReport:
    read: int = 0
    applied: int = 0
    failed: int = 0


async def _rebuild(nats_url: str, batch_size: int, streams: set[str] | None) -> RebuildReport:
    report = RebuildReport()
    nc = await connect(nats_url, name=f"{conf.service_name()}-replay")
    try:
        js = nc.jetstream()
        for stream, subjects in subscriptions().items():
            if streams and stream not in streams:
                continue
            pending: list[IncomingMessage] = []
            name = replay_consumer_name(conf.service_name(), stream)
            async for seq, subject, data in read_stream(
                js, stream, replay_filters(subjects), name=name, batch=batch_size
            ):
                report.read += 1
                pending.append(IncomingMessage(stream, seq, subject, data))
                if len(pending) >= batch_size:
                    _count(report, await asyncio.to_thread(apply_batch, pending))
                    pending = []
            if pending:
                _count(report, await asyncio.to_thread(apply_batch, pending))
    finally:
        await nc.close()
    return report


def _count(report: RebuildReport, outcomes: list) -> None:
    report.applied += sum(1 for o in outcomes if o.action is Action.ACK)
    report.failed += sum(1 for o in outcomes if o.action is not Action.ACK)


def rebuild_replicas(*, streams: set[str] | None = None, batch_size: int = 500) -> RebuildReport:
    return asyncio.run(_rebuild(conf.get("NATS_URL"), batch_size, streams))
