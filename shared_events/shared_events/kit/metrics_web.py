"""The web processes' metrics: a middleware that counts and times every request by its URL
pattern, and the view that serves /<service>/metrics.

Under gunicorn each worker is a process of its own: with PROMETHEUS_MULTIPROC_DIR set
(`gunicorn_conf`) prometheus-client keeps the values in files there and the view sums every
worker's.

The middleware answers /<service>/metrics itself, before Django's host check (in
CommonMiddleware): Prometheus scrapes a pod by its IP, a Host no ALLOWED_HOSTS lists, and the
answer builds no URL from it. It answers only a scraper inside the cluster: a request that
came through the gateway (any proxy adds X-Forwarded-For or Forwarded) gets a 404, whatever
the routes say.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseNotFound
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from .metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS

# Anything else a client may send as a method is one label value, not one per spelling.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Headers a reverse proxy adds, as Django's META names them.
_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def route_of(request: HttpRequest) -> str:
    """The URL pattern that matched (`voting/api/polls/<uuid:pk>/`), never the raw path: the
    label's values stay as few as the routes. "unmatched" for a 404 no pattern matched."""
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None and match.route else "unmatched"


class HttpMetricsMiddleware:
    """Counts and times every request, and serves the metrics (first in MIDDLEWARE: what it
    sees is what was sent)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.service = settings.SERVICE_NAME
        self.metrics_path = f"/{self.service}/metrics"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == self.metrics_path:
            return metrics_view(request)
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        method = request.method if request.method in _METHODS else "other"
        route = route_of(request)
        HTTP_REQUESTS.labels(self.service, route, method, str(response.status_code)).inc()
        HTTP_REQUEST_DURATION.labels(self.service, route, method).observe(seconds)
        return response


def came_through_proxy(request: HttpRequest) -> bool:
    return any(request.META.get(header) for header in _PROXY_HEADERS)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # A registry per scrape that reads every worker's files (prometheus-client's recipe).
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics_view(request: HttpRequest) -> HttpResponse:
    if came_through_proxy(request):
        # The public host never serves it, even if a route let it through.
        return HttpResponseNotFound(b"Not Found", content_type="text/plain")
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
