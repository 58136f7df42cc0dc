"""The platform's own Prometheus metrics: HTTP requests of the web processes and the Celery
tasks of the workers. Only definitions live here (names are a contract with the monitoring
component's alerts and dashboard); the middleware (`metrics_web`), the Celery signals
(`metrics_celery`) and the port of the non-web processes (`metrics_port`) record and serve them.

Every metric carries a `service` label. The event pipeline's metrics are
`shared_events.core.metrics`; a service's own are `<app>/metrics.py`.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# --- HTTP (web processes) ---
HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by URL pattern (never the raw path), method and status",
    ["service", "route", "method", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by URL pattern and method",
    ["service", "route", "method"],
)

# --- Celery (worker processes) ---
CELERY_TASKS = Counter(
    "celery_tasks",
    "Celery tasks finished, by task name and state (succeeded, failed, retried)",
    ["service", "task", "state"],
)
CELERY_TASK_DURATION = Histogram(
    "celery_task_duration_seconds",
    "Time a Celery task ran, by task name",
    ["service", "task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
