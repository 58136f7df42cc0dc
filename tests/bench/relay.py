"""Relay: N pending outbox rows until every one is acknowledged by JetStream.

Runs in accounts_service's settings on a database and a nats-server of its own (no Celery
worker, so nothing else relays meanwhile). The rows are the events of N new accounts, written
the way any bulk write writes them (`Account.objects.bulk_create`, which records the outbox
rows in the same transaction). Then:

- ceiling: nats-py `publish_async` of exactly those payloads (same subjects, headers and sizes)
  to the same stream, all acks awaited; then the stream is purged;
- figure: the real relay (`shared_events.core.outbox.relay.relay_pending`, what the Celery task
  runs)
  until no row is pending, checked against the stream's message count.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

NAME = "relay"


def agent_relay(n: int, chunk: int = 1000) -> dict[str, Any]:
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from accounts.models import Account, Role
    from shared_events.core.outbox.models import OutboxEvent
    from shared_events.core.outbox.relay import RelayResult, get_publisher, relay_pending
    from tests.bench.agent import progress

    # No worker runs here: the on-commit kick would only queue tasks nobody takes.
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "RELAY_KICK": False}
    unusable = make_password(None)
    started = time.perf_counter()
    for start in range(0, n, chunk):
        with transaction.atomic():
            Account.objects.bulk_create(
                [
                    Account(
                        email=f"relay-{i}@bench.example",
                        password=unusable,
                        role=Role.DELEGATOR,
                        points=100,
                        accrued_through_epoch=0,
                    )
                    for i in range(start, min(n, start + chunk))
                ]
            )
        progress(min(n, start + chunk), n, "writing accounts and their outbox rows")
    setup_seconds = time.perf_counter() - started

    rows = list(
        OutboxEvent.objects.filter(published_at__isnull=True)
        .order_by("seq")
        .values_list("subject", "payload", "event_id", "event_type")
    )
    assert len(rows) == n, (len(rows), n)
    url = settings.SHARED_EVENTS["NATS_URL"]
    ceiling_seconds = asyncio.run(_publish_async_all(url, rows))
    progress(n, n, "ceiling done")

    total = RelayResult()
    started = time.perf_counter()
    while True:
        result, more_due = relay_pending(time_budget=0.5)
        total += result
        progress(total.published + total.superseded, n, "relaying")
        if not more_due:
            break
    relay_seconds = time.perf_counter() - started
    get_publisher().close()
    pending = OutboxEvent.objects.filter(published_at__isnull=True).count()
    stored = asyncio.run(_stream_messages(url))
    return {
        "rows": n,
        "setup_seconds": round(setup_seconds, 2),
        "ceiling_seconds": round(ceiling_seconds, 3),
        "ceiling_per_second": round(n / ceiling_seconds),
        "relay_seconds": round(relay_seconds, 3),
        "relay_per_second": round(n / relay_seconds),
        "published": total.published,
        "superseded": total.superseded,
        "failed": total.failed,
        "left_pending": pending,
        "stream_messages": stored,
    }


async def _publish_async_all(url: str, rows: list[tuple[str, Any, Any, str]]) -> float:
    from shared_events.core.transport.connection import connect
    from shared_events.core.transport.streams import ensure_stream, stream_spec

    nc = await connect(url, name="bench-relay-ceiling")
    try:
        js = nc.jetstream()
        spec = stream_spec("accounts")
        await ensure_stream(js, spec)
        payloads = [(s, bytes(p), str(e), t) for s, p, e, t in rows]
        started = time.perf_counter()
        futures = []
        for subject, payload, event_id, event_type in payloads:
            futures.append(
                await js.publish_async(
                    subject,
                    payload,
                    headers={"Nats-Msg-Id": f"{event_id}-ceiling", "Event-Type": event_type},
                )
            )
        await asyncio.gather(*futures)
        seconds = time.perf_counter() - started
        info = await js.stream_info(spec.name)
        assert info.state.messages == len(rows), (info.state.messages, len(rows))
        await js.purge_stream(spec.name)
        return seconds
    finally:
        await nc.close()


async def _stream_messages(url: str) -> int:
    from shared_events.core.transport.connection import connect

    nc = await connect(url, name="bench-relay-check")
    try:
        return (await nc.jetstream().stream_info("ACCOUNTS")).state.messages
    finally:
        await nc.close()


def figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    rate, ceiling = result["relay_per_second"], result["ceiling_per_second"]
    ratio = rate / ceiling if ceiling else None
    return [
        {
            "scenario": f"relay: {result['rows']:,} pending outbox rows until acked",
            "figure": "events/s",
            "value": rate,
            "ceiling": ceiling,
            "ceiling_what": "nats-py publish_async, same payloads",
            "ratio": ratio,
            "goal": ">= 10,000/s and >= 40 % of ceiling",
            "met": rate >= 10_000 and ratio is not None and ratio >= 0.40,
        }
    ]
