"""Consumer: a backlog of N events applied to replicas by one consumer process.

Runs in voting_service's settings, on a database of its own, against the stream the relay
scenario filled (N `accounts.account.created` events, each a new voter here). Then:

- ceiling: nats-py fetch + ack of the same messages (a durable pull consumer with the same
  filter and batch size), without applying them; the consumer is deleted afterwards;
- figure: the real consumer (`shared_events.core.consumer.runner.ConsumerRunner`, what
  `manage.py consume_events` runs) from its start until it has applied all N, checked against
  the voter table.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

NAME = "consumer"


def agent_consumer(n: int) -> dict[str, Any]:
    from django.conf import settings

    from shared_events.core import conf
    from voting.models import Voter

    url = settings.SHARED_EVENTS["NATS_URL"]
    batch = conf.get("CONSUMER_BATCH_SIZE")
    ceiling_seconds = asyncio.run(_fetch_and_ack(url, n, batch))
    seconds, applied = asyncio.run(_consume(n))
    voters = Voter.objects.count()
    return {
        "events": n,
        "batch_size": batch,
        "ceiling_seconds": round(ceiling_seconds, 3),
        "ceiling_per_second": round(n / ceiling_seconds),
        "consumer_seconds": round(seconds, 3),
        "consumer_per_second": round(n / seconds),
        "applied": applied,
        "voters": voters,
    }


async def _fetch_and_ack(url: str, n: int, batch: int) -> float:
    import nats.errors
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    from shared_events.core.transport.connection import connect
    from tests.bench.agent import progress

    nc = await connect(url, name="bench-consumer-ceiling")
    try:
        js = nc.jetstream()
        durable = "bench-ceiling"
        await js.add_consumer(
            "ACCOUNTS",
            ConsumerConfig(
                durable_name=durable,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=30,
                max_deliver=-1,
                max_ack_pending=batch * 4,
                filter_subject="accounts.account.*",
            ),
        )
        sub = await js.pull_subscribe_bind(durable, stream="ACCOUNTS")
        got = 0
        started = time.perf_counter()
        while got < n:
            try:
                msgs = await sub.fetch(batch, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            for msg in msgs:
                await msg.ack()
            got += len(msgs)
            progress(got, n, "ceiling: fetch + ack")
        seconds = time.perf_counter() - started
        await sub.unsubscribe()
        await js.delete_consumer("ACCOUNTS", durable)
        return seconds
    finally:
        await nc.close()


async def _consume(n: int) -> tuple[float, int]:
    from shared_events.core.consumer.runner import ConsumerRunner
    from tests.bench.agent import progress

    runner = ConsumerRunner()
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(runner.run(stop))
    shown = 0.0
    while runner.applied < n:
        if task.done():
            task.result()
            raise RuntimeError("the consumer stopped early")
        await asyncio.sleep(0.005)
        if time.perf_counter() - shown >= 0.2:  # the bar, without taxing the loop it measures
            progress(runner.applied, n, "consumer: applying")
            shown = time.perf_counter()
    seconds = time.perf_counter() - started
    stop.set()
    await task
    return seconds, runner.applied


def figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    rate, ceiling = result["consumer_per_second"], result["ceiling_per_second"]
    return [
        {
            "scenario": f"consumer: backlog of {result['events']:,} events applied to replicas",
            "figure": "events/s",
            "value": rate,
            "ceiling": ceiling,
            "ceiling_what": "nats-py fetch+ack, no apply",
            "ratio": rate / ceiling if ceiling else None,
            "goal": ">= 3,000/s per process",
            "met": rate >= 3_000,
        }
    ]
