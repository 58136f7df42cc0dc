"""accounts' own Prometheus metrics (the platform's are `shared_events.kit.metrics` and
`shared_events.core.metrics`). Names are a contract with the monitoring component.

All are read from the database when scraped, by accounts' beat (`accounts.metrics_scrape`)."""

from __future__ import annotations

from prometheus_client import Gauge

CHAIN_SOURCE_LAST_EPOCH = Gauge(
    "chain_source_last_epoch",
    "The last epoch whose stake distribution is stored from the chain source",
    ["service"],
)
CHAIN_SOURCE_STALE = Gauge(
    "chain_source_stale_seconds",
    "Seconds since the stored epoch should have been superseded by the next (0 when fresh)",
    ["service"],
)
ACCRUAL_LAST_EPOCH = Gauge(
    "accrual_last_epoch",
    "The epoch every active delegator's points are credited through",
    ["service"],
)

SCRAPE_TIME_GAUGES = (CHAIN_SOURCE_LAST_EPOCH, CHAIN_SOURCE_STALE, ACCRUAL_LAST_EPOCH)
