"""The knobs of shared_events, read from `settings.SHARED_EVENTS` with defaults."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "SERVICE": None,  # "accounts" | "polls" | "voting": names durable consumers and queues
    "NATS_URL": "nats://127.0.0.1:4222",
    # Credentials and TLS (transport/connection.py); NATS_USER defaults to SERVICE.
    "NATS_USER": None,
    "NATS_PASSWORD": None,
    "NATS_TLS_CA_FILE": None,
    "NATS_TLS_CERT_FILE": None,
    "NATS_TLS_KEY_FILE": None,
    "PRODUCES": (),  # producers whose streams this service publishes to, e.g. ("accounts",)
    # Streams: every service declares them identically, so any of them can create them.
    "STREAM_REPLICAS": 1,
    "STREAM_MAX_MSGS_PER_SUBJECT": 5,
    "STREAM_DUPLICATE_WINDOW_SECONDS": 20 * 60,
    # Partitions of the aggregates in every stream (`partitions.py`); 1: none, as before.
    "STREAM_PARTITIONS": 1,
    # Relay
    "RELAY_BATCH_SIZE": 1000,
    "RELAY_LEASE_SECONDS": 30,
    "RELAY_PUBLISH_TIMEOUT_SECONDS": 5.0,
    "RELAY_TIME_BUDGET_SECONDS": 10.0,
    "RELAY_BACKOFF_BASE_SECONDS": 0.5,
    "RELAY_BACKOFF_CAP_SECONDS": 10.0,
    # Whether a commit wakes the relay: on PostgreSQL by NOTIFY, to the loop the Celery
    # worker runs while RELAY_LISTEN is on (outbox/listen.py); else by a Celery task (kick.py).
    "RELAY_KICK": True,
    "RELAY_LISTEN": True,
    # How often that loop relays without being woken (the beat sweep runs beside it).
    "RELAY_LISTEN_SWEEP_SECONDS": 1.0,
    # A dotted path to a function(alias) run between JetStream's ack and marking the rows;
    # only tests set one (shared_events.core.testing).
    "RELAY_AFTER_PUBLISH": None,
    "OUTBOX_RETENTION_HOURS": 24 * 7,
    # Status: an unpublished event older than this makes the pipeline unhealthy.
    "OUTBOX_STALE_AFTER_SECONDS": 60.0,
    # Status: a consumer's lag is sampled twice this far apart to see whether it shrinks.
    "STATUS_LAG_SAMPLE_SECONDS": 2.0,
    # Consumer
    # Per batch: a fetch, one transaction, one inbox lookup and insert, one upsert per 500
    # replicas; a large batch spreads them over many events when there is a backlog.
    "CONSUMER_BATCH_SIZE": 1000,
    "CONSUMER_FETCH_TIMEOUT_SECONDS": 1.0,
    "CONSUMER_MAX_DELIVERIES": 5,
    "CONSUMER_BACKOFF_BASE_SECONDS": 1.0,
    "CONSUMER_BACKOFF_CAP_SECONDS": 60.0,
    "CONSUMER_ACK_WAIT_SECONDS": 30.0,
    # How many consumer processes share the partitions, and which one this is (0-based; None:
    # from the host name's StatefulSet ordinal, see partitions.replica_index).
    "CONSUMER_REPLICAS": 1,
    "CONSUMER_REPLICA_INDEX": None,
    "INBOX_RETENTION_HOURS": 24 * 14,
    # Metrics: dotted paths of functions the beat runs when scraped, to set the service's own
    # gauges read from its database (the pipeline's are core.metrics_scrape's).
    "METRICS_SCRAPE_TIME": (),
}


def get(name: str) -> Any:
    if name not in DEFAULTS:
        raise KeyError(f"unknown SHARED_EVENTS setting {name}")
    return getattr(settings, "SHARED_EVENTS", {}).get(name, DEFAULTS[name])


def service_name() -> str:
    name = get("SERVICE")
    if not name:
        raise RuntimeError("settings.SHARED_EVENTS['SERVICE'] is not set")
    return name


def backoff(attempt: int, *, base: float, cap: float) -> float:
    """Capped exponential backoff: base, 2*base, 4*base, ... never above cap."""
    return min(cap, base * (2 ** max(0, attempt - 1)))
