"""polls' gauges read from its database when its beat is scraped
(SHARED_EVENTS['METRICS_SCRAPE_TIME'], `shared_events.core.metrics_port`)."""

from __future__ import annotations

from django.utils import timezone

from .metrics import POLLS_OLDEST_UNFINALIZED_PAST_CLOSE, POLLS_UNFINALIZED_PAST_CLOSE
from .selectors import polls_unfinalized_past_close


def refresh() -> None:
    count, oldest_seconds = polls_unfinalized_past_close(now=timezone.now())
    POLLS_UNFINALIZED_PAST_CLOSE.labels("polls").set(count)
    POLLS_OLDEST_UNFINALIZED_PAST_CLOSE.labels("polls").set(oldest_seconds)
