"""gunicorn's settings (`--config python:shared_events.kit.gunicorn_conf`): its own log lines
through the service's logging (`logs`), and the hooks for prometheus-client's multiprocess
mode: each worker writes its metrics to files in PROMETHEUS_MULTIPROC_DIR, and
/<service>/metrics sums them (`metrics_web`).

The files of a previous start are removed before the workers start, so a restarted server's
counters begin at zero, as Prometheus expects of a new process, instead of adding to the last
run's. The directory is PROMETHEUS_MULTIPROC_DIR (`manage_all.py up`: under its
var dir), by default prometheus-multiproc in the temporary directory (a pod's /tmp emptyDir):
set for gunicorn's processes alone, since the pod's other containers serve their metrics from
one process each.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from .logs import gunicorn_logconfig

# gunicorn's own lines (start, workers, timeouts) as the service's: one JSON object per line
# with LOG_FORMAT=json. gunicorn runs in the service's folder (`up`, the pods' workingDir).
logconfig_dict = gunicorn_logconfig(Path.cwd().name.removesuffix("_service"))

# gunicorn sets these in its master before anything imports prometheus-client, which reads the
# variable once, at import.
raw_env = [
    "PROMETHEUS_MULTIPROC_DIR="
    + (
        os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        or os.path.join(tempfile.gettempdir(), "prometheus-multiproc")
    )
]


def on_starting(server: Any) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:  # loaded as a module, not as gunicorn's config
        return
    path = Path(directory)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # only prometheus-client's own files
        stale.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
