"""The metrics port of the processes that serve no HTTP of their own (Celery worker and beat,
the consumer): prometheus-client's HTTP server on METRICS_PORT, path /metrics. Nothing is
served when METRICS_PORT is unset (tests, a one-off command).

A beat passes its scrape-time refreshers (`metrics_scrape`): they set the gauges read from the
database and JetStream right before each scrape is answered. A refresher that fails makes the
scrape fail (500), which Prometheus shows as the target being down rather than as old values.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence

from django.db import connections
from django.utils.module_loading import import_string
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.metrics_core import Metric

from . import conf

log = logging.getLogger(__name__)

Refresher = Callable[[], None]


class RefreshedRegistry(CollectorRegistry):
    """The process's registry, with the refreshers run first on each scrape."""

    def __init__(self, refreshers: Sequence[Refresher], source: CollectorRegistry = REGISTRY):
        super().__init__(auto_describe=False)
        self._refreshers = refreshers
        self._source = source

    def collect(self) -> Iterable[Metric]:
        try:
            for refresh in self._refreshers:
                refresh()
        except Exception:
            log.exception("metrics: a scrape-time refresher failed")
            raise
        finally:
            # Each scrape runs on a thread of its own: leave no database connection behind.
            connections.close_all()
        yield from self._source.collect()


def scrape_time_refreshers() -> list[Refresher]:
    """The pipeline's own, and the service's (SHARED_EVENTS['METRICS_SCRAPE_TIME'])."""
    # Imported here: the Celery app (and so this module) loads before Django's models can.
    from .metrics_scrape import refresh_pipeline_gauges

    return [refresh_pipeline_gauges, *map(import_string, conf.get("METRICS_SCRAPE_TIME"))]


def serve_metrics_port(*, refreshers: Sequence[Refresher] = ()) -> int | None:
    """Start serving /metrics on METRICS_PORT (on a daemon thread); returns the port."""
    value = os.environ.get("METRICS_PORT", "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise RuntimeError(f"METRICS_PORT={value!r} is not a port number")
    port = int(value)
    address = os.environ.get("METRICS_ADDRESS", "0.0.0.0")
    registry = RefreshedRegistry(refreshers) if refreshers else REGISTRY
    try:
        start_http_server(port, addr=address, registry=registry)
    except OSError as exc:
        raise RuntimeError(f"cannot serve metrics on {address}:{port}: {exc}") from exc
    log.info("metrics on http://%s:%d/metrics", address, port)
    return port
