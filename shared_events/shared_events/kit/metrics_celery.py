"""Celery's side of the metrics: task counts and durations from Celery's signals, and the
metrics port of the worker and the beat (`core.metrics_port`). The beat's port also serves the
gauges read from the database and JetStream when scraped, so exactly one process per service
reports them."""

from __future__ import annotations

import time
from typing import Any

from celery.signals import beat_init, task_postrun, task_prerun, worker_init

from ..core import conf
from ..core.metrics_port import scrape_time_refreshers, serve_metrics_port
from ..core.role_threads import hosts_beat
from .metrics import CELERY_TASK_DURATION, CELERY_TASKS

# Celery's final states, as the metric's `state` label says them.
_STATES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}
# Start times by task id; a worker's threads each add and remove their own.
_started: dict[str, float] = {}
# Whether this process serves its metrics port already: one port per process.
_served = False


def _task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.monotonic()


def _task_finished(
    task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    started = _started.pop(task_id, None) if task_id else None
    name = getattr(task, "name", None) or "unknown"
    service = conf.service_name()
    if started is not None:
        CELERY_TASK_DURATION.labels(service, name).observe(time.monotonic() - started)
    if state in _STATES:
        CELERY_TASKS.labels(service, name, _STATES[state]).inc()


def _serve_worker_metrics(sender: Any = None, **_: Any) -> None:
    global _served
    # A worker that runs the beat in a thread serves the beat's gauges too (role_threads.py).
    _served = True
    if hosts_beat(sender):
        serve_metrics_port(refreshers=scrape_time_refreshers())
    else:
        serve_metrics_port()


def _serve_beat_metrics(**_: Any) -> None:
    # A beat thread's worker already serves this process's port, with the beat's gauges.
    if not _served:
        serve_metrics_port(refreshers=scrape_time_refreshers())


def record_celery_metrics() -> None:
    """Connect the signals (idempotent: Celery keys receivers by dispatch_uid)."""
    task_prerun.connect(_task_started, weak=False, dispatch_uid="metrics-task-started")
    task_postrun.connect(_task_finished, weak=False, dispatch_uid="metrics-task-finished")
    worker_init.connect(_serve_worker_metrics, weak=False, dispatch_uid="metrics-worker-port")
    beat_init.connect(_serve_beat_metrics, weak=False, dispatch_uid="metrics-beat-port")
