"""accounts' gauges read from its database when its beat is scraped
(SHARED_EVENTS['METRICS_SCRAPE_TIME'], `shared_events.core.metrics_port`)."""

from __future__ import annotations

from django.utils import timezone

from .metrics import ACCRUAL_LAST_EPOCH, CHAIN_SOURCE_LAST_EPOCH, CHAIN_SOURCE_STALE
from .selectors import accrual_last_epoch, chain_source_staleness


def refresh() -> None:
    newest, stale_seconds = chain_source_staleness(now=timezone.now())
    # No epoch stored, no accrual yet: no sample rather than a made-up epoch 0.
    if newest is not None:
        CHAIN_SOURCE_LAST_EPOCH.labels("accounts").set(newest)
    CHAIN_SOURCE_STALE.labels("accounts").set(stale_seconds)
    accrued = accrual_last_epoch()
    if accrued is not None:
        ACCRUAL_LAST_EPOCH.labels("accounts").set(accrued)
