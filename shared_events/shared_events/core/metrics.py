"""The event pipeline's Prometheus metrics: the outbox and its relay, the consumers, the
replication lag, JetStream. Only definitions live here (names are a contract with the
monitoring component's alerts and dashboard: kustomize/components/monitoring); the hot paths
record them through the small hooks below, never with a database query of their own.

Every metric carries a `service` label. The gauges read from the database or from JetStream
(`SCRAPE_TIME_GAUGES`) are set when scraped, in one process per service (the beat), by
`core.metrics_scrape`; the rest are recorded where things happen (relay, consumer).
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram

from . import conf

# A relay batch takes milliseconds when NATS is near, up to its publish timeout when not.
_BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# From a commit in one service to the replica in another: sub-second normally, minutes when a
# consumer was down or replays.
_REPLICATION_BUCKETS = (
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 7200.0,
)  # fmt: skip

# --- outbox (read from the table when scraped) ---
OUTBOX_PENDING = Gauge("outbox_pending_events", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_PENDING_AGE = Gauge(
    "outbox_oldest_pending_age_seconds",
    "Age of the oldest unpublished outbox row (0 when none)",
    ["service"],
)
OUTBOX_FAILING = Gauge(
    "outbox_failing_events",
    "Unpublished outbox rows whose publishing failed at least once",
    ["service"],
)

# --- relay (recorded by the relay, in the worker) ---
OUTBOX_PUBLISHED = Counter(
    "outbox_events_published", "Outbox events JetStream confirmed", ["service"]
)
OUTBOX_PUBLISH_DURATION = Histogram(
    "outbox_publish_duration_seconds",
    "One relay batch: from handing it to the publisher to JetStream's last ack",
    ["service"],
    buckets=_BATCH_BUCKETS,
)
OUTBOX_RELAY_FAILURES = Counter(
    "outbox_relay_failures",
    "Relay batches with at least one event JetStream did not confirm",
    ["service"],
)
OUTBOX_RELAY_LAST_SUCCESS = Gauge(
    "outbox_relay_last_success_timestamp_seconds",
    "Unix time of the last relay batch that published everything it sent",
    ["service"],
    multiprocess_mode="max",
)

# --- consumers (recorded by the consumer process; lag read from JetStream when scraped) ---
CONSUMER_LAG = Gauge(
    "consumer_lag_events",
    "Messages of the stream the durable consumer has not been delivered yet (num_pending)",
    ["service", "stream"],
)
CONSUMER_APPLIED = Counter(
    "consumer_events_applied", "Events applied to this service's database", ["service", "stream"]
)
CONSUMER_APPLY_DURATION = Histogram(
    "consumer_apply_duration_seconds",
    "Applying one fetched batch in its transaction",
    ["service", "stream"],
    buckets=_BATCH_BUCKETS,
)
CONSUMER_REDELIVERIES = Counter(
    "consumer_redeliveries",
    "Messages delivered more than once (a NAK, an ack lost, a restart)",
    ["service", "stream"],
)
CONSUMER_DEAD_LETTERS = Counter(
    "consumer_dead_letters", "Messages dead-lettered by this process", ["service", "stream"]
)
CONSUMER_DEAD_LETTER_ROWS = Gauge(
    "consumer_dead_letter_events", "Dead-letter rows stored and not resolved", ["service"]
)
REPLICATION_LAG = Histogram(
    "replication_lag_seconds",
    "Apply time minus the event's occurred_at (the producer's commit)",
    ["service", "stream"],
    buckets=_REPLICATION_BUCKETS,
)
JETSTREAM_UP = Gauge(
    "jetstream_up", "1 when the last contact with JetStream succeeded, else 0", ["service"]
)

# Set when scraped, by the one process per service that serves them (the beat).
SCRAPE_TIME_GAUGES = (
    OUTBOX_PENDING,
    OUTBOX_OLDEST_PENDING_AGE,
    OUTBOX_FAILING,
    CONSUMER_LAG,
    CONSUMER_DEAD_LETTER_ROWS,
    JETSTREAM_UP,
)


# --- hooks for the hot paths: label lookups and arithmetic, nothing else ---


def relay_batch_published(*, published: int, failed: int, seconds: float) -> None:
    service = conf.service_name()
    OUTBOX_PUBLISH_DURATION.labels(service).observe(seconds)
    if published:
        OUTBOX_PUBLISHED.labels(service).inc(published)
    if failed:
        OUTBOX_RELAY_FAILURES.labels(service).inc()
    else:
        OUTBOX_RELAY_LAST_SUCCESS.labels(service).set(time.time())


@dataclasses.dataclass
class ConsumerBatch:
    """What one applied batch did on one stream: the occurred_at of the events it applied,
    how many of its messages came again, how many it dead-lettered."""

    stream: str
    occurred: list[datetime] = dataclasses.field(default_factory=list)
    redelivered: int = 0
    dead_lettered: int = 0


def consumer_batch_applied(batch: ConsumerBatch, *, seconds: float, applied_at: datetime) -> None:
    labels = (conf.service_name(), batch.stream.lower())
    CONSUMER_APPLY_DURATION.labels(*labels).observe(seconds)
    if batch.occurred:
        CONSUMER_APPLIED.labels(*labels).inc(len(batch.occurred))
        lag = REPLICATION_LAG.labels(*labels)
        for at in batch.occurred:
            if at.tzinfo is None:  # a producer that wrote a naive time meant UTC
                at = at.replace(tzinfo=UTC)
            lag.observe(max(0.0, (applied_at - at).total_seconds()))
    if batch.redelivered:
        CONSUMER_REDELIVERIES.labels(*labels).inc(batch.redelivered)
    if batch.dead_lettered:
        CONSUMER_DEAD_LETTERS.labels(*labels).inc(batch.dead_lettered)
