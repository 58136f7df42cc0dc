"""polls' own Prometheus metrics (the platform's are `shared_events.kit.metrics` and
`shared_events.core.metrics`). Names are a contract with the monitoring component.

Both are read from the database when scraped, by polls' beat (`polls.metrics_scrape`)."""

from __future__ import annotations

from prometheus_client import Gauge

POLLS_UNFINALIZED_PAST_CLOSE = Gauge(
    "polls_unfinalized_past_close",
    "Open polls whose closes_at has passed and that are not finalized yet",
    ["service"],
)
POLLS_OLDEST_UNFINALIZED_PAST_CLOSE = Gauge(
    "polls_oldest_unfinalized_past_close_seconds",
    "Seconds since the closes_at of the oldest such poll (0 when none)",
    ["service"],
)

SCRAPE_TIME_GAUGES = (POLLS_UNFINALIZED_PAST_CLOSE, POLLS_OLDEST_UNFINALIZED_PAST_CLOSE)
