"""gunicorn's hooks for prometheus-client's multiprocess mode (`--config
python:shared_events.kit.gunicorn_conf`): each worker writes its metrics to files in
PROMETHEUS_MULTIPROC_DIR, and /<service>/metrics sums them (`metrics_web`).

The files of a previous start are removed before the workers start: a counter summed with the
last run's would go backwards at a restart (as Prometheus expects of a new process) only if the
directory is fresh. Without PROMETHEUS_MULTIPROC_DIR these hooks do nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def on_starting(server: Any) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # only prometheus-client's own files
        stale.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
