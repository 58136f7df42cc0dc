"""Consumer scale-out: the same backlog applied by 1 and by 2 consumer processes of one service.

The stream has two partitions (`NATS_STREAM_PARTITIONS=2`, `shared_events.core.partitions`)
and holds N `accounts.account.created` events, relayed by accounts' real relay on a
nats-server and database of its own. Then, each on a fresh voting database, the real
`manage.py consume_events` processes: one owning both partitions (`CONSUMER_REPLICAS=1`), then
two owning one each (`CONSUMER_REPLICAS=2`, indexes 0 and 1), as the cluster's StatefulSet
runs them. The durable consumers are deleted before each run, so each applies the whole
stream. Timed from the first voter stored (its `replicated_at`, so the processes' start-up is
not counted) to the last, seen by polling the voter count.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from typing import Any

NAME = "consumer_scaleout"
PARTITIONS = 2


def agent_scaleout(n: int, processes: int, log_dir: str) -> dict[str, Any]:
    from django.conf import settings
    from django.db.models import Min
    from django.utils import timezone

    from shared_events.core import conf
    from tests.bench.agent import progress
    from voting.models import Voter

    assert conf.get("STREAM_PARTITIONS") == PARTITIONS, "NATS_STREAM_PARTITIONS=2 expected"
    asyncio.run(_forget_durables(settings.SHARED_EVENTS["NATS_URL"], conf.service_name()))
    assert not Voter.objects.exists()
    children = []
    for index in range(processes):
        log = open(os.path.join(log_dir, f"scaleout-{processes}-{index}.log"), "ab")  # noqa: SIM115
        children.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "consume_events"],
                env={
                    **os.environ,
                    "CONSUMER_REPLICAS": str(processes),
                    "CONSUMER_REPLICA_INDEX": str(index),
                },
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        log.close()
    try:
        deadline = time.monotonic() + 600
        while (count := Voter.objects.count()) < n:
            if time.monotonic() > deadline or any(c.poll() is not None for c in children):
                raise RuntimeError(f"{count} of {n} voters applied; see {log_dir}")
            progress(count, n, f"{processes} consumer process{'es' if processes > 1 else ''}")
            time.sleep(0.1)
        finished = timezone.now()
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
    first = Voter.objects.aggregate(first=Min("replicated_at"))["first"]
    seconds = (finished - first).total_seconds()
    return {
        "events": n,
        "processes": processes,
        "partitions": PARTITIONS,
        "batch_size": conf.get("CONSUMER_BATCH_SIZE"),
        "seconds": round(seconds, 3),
        "per_second": round(n / seconds),
    }


async def _forget_durables(url: str, service: str) -> None:
    """Delete this service's durable consumers on ACCOUNTS: the next run reads it whole."""
    import nats.js.errors

    from shared_events.core.transport.connection import connect

    nc = await connect(url, name="bench-scaleout")
    try:
        js = nc.jetstream()
        try:
            consumers = await js.consumers_info("ACCOUNTS")
        except nats.js.errors.NotFoundError:
            return
        for info in consumers:
            if info.name.startswith(f"{service}-"):
                await js.delete_consumer("ACCOUNTS", info.name)
    finally:
        await nc.close()


def figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    one, two = result["one"]["per_second"], result["two"]["per_second"]
    n = result["one"]["events"]
    return [
        {
            "scenario": f"consumer scale-out: {n:,} events, 2 partitions, 1 process",
            "figure": "events/s",
            "value": one,
            "ceiling": None,
            "ratio": None,
            "goal": "the base of the row below",
            "met": None,
        },
        {
            "scenario": f"consumer scale-out: {n:,} events, 2 partitions, 2 processes",
            "figure": "events/s",
            "value": two,
            "ceiling": 2 * one,
            "ceiling_what": "twice one process",
            "ratio": two / (2 * one) if one else None,
            "goal": "more than 1 process",
            "met": two > one,
        },
    ]
