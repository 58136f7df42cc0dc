"""Memory: the peak resident set of each process during the ballot load (sampled there, see
ballots.py), and the total resident memory of the idle platform as a user runs it:
`python3 manage_all.py up` on the embedded default (SQLite, the embedded NATS and Redis), in a
throwaway VAR_DIR on free ports, measured once every service is ready and it has sat idle for a
while, then stopped with Ctrl-C (SIGINT) as a user would.

RSS counts a page shared by forked processes (a gunicorn master and its workers) in each of
them, so the total RSS overstates what the platform takes; PSS (proportional) is reported too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import manage_all
from shared_events.core.testing import free_port

from .infra import cmdline, descendants, pss_bytes, rss_bytes
from .progress import Progress

NAME = "memory"
GIB = 1024**3
# Issue 20: the idle embedded platform, every role running, in at most this much RSS.
IDLE_GOAL_GIB = 0.75
# The embedded default: nothing of the developer's backends may leak in.
_DROP = (
    "DATABASE_URL",
    "NATS_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "CELERY_QUEUE_PREFIX",
    "WEB_WORKERS",
    "DJANGO_SETTINGS_MODULE",
    "EMBEDDED_DEFAULTS",
    "COMBINE_ROLES",
    "VAR_DIR",
    *(f"{s.upper()}_DATABASE_URL" for s in manage_all.SERVICES),
    *(f"{s.upper()}_PORT" for s in manage_all.SERVICES),
)


def idle_embedded(workdir: Path, idle_seconds: float) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    env["VAR_DIR"] = str(workdir / "embedded-var")
    env["EMBEDDED_NATS_PORT"] = str(free_port())
    ports = {}
    for service in manage_all.SERVICES:
        ports[service] = free_port()
        env[f"{service.upper()}_PORT"] = str(ports[service])
    for variable, _default in manage_all.metrics_port_variables().values():
        env[variable] = str(free_port())
    log = open(workdir / "embedded-up.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, str(manage_all.ROOT / "manage_all.py"), "up"],
        cwd=manage_all.ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    bar = Progress("manage_all.py up (embedded), idle", 1)
    try:
        deadline = time.monotonic() + 180
        while not all(
            manage_all.http_status(f"http://127.0.0.1:{port}/{service}/health/ready", timeout=1.0)
            == 200
            for service, port in ports.items()
        ):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"manage_all.py up exited with {proc.returncode}; see "
                    f"{workdir / 'embedded-up.log'}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError("the embedded platform was not ready within 180 s")
            time.sleep(0.25)
        time.sleep(idle_seconds)
        pids = descendants(proc.pid)
        per_process = {f"{pid} {cmdline(pid)[:90]}": rss_bytes(pid) for pid in pids}
        rss = sum(per_process.values())
        pss = sum(pss_bytes(pid) for pid in pids)
        bar.finish(f"{len(pids)} processes, RSS {rss / GIB:.2f} GiB, PSS {pss / GIB:.2f} GiB")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # anything left in its group
        except ProcessLookupError:
            pass
        log.close()
    return {
        "processes": len(pids),
        "total_rss_bytes": rss,
        "total_pss_bytes": pss,
        "idle_seconds": idle_seconds,
        "rss_by_process": per_process,
        "exit_code": proc.returncode,
    }


def figures(peaks: dict[str, int] | None, idle: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows = []
    if peaks:
        name, biggest = max(peaks.items(), key=lambda kv: kv[1])
        rows.append(
            {
                "scenario": "memory: peak RSS per process during the ballot load",
                "figure": "MiB (largest)",
                "value": round(biggest / 2**20),
                "ceiling": None,
                "ratio": None,
                "goal": f"reported ({name}; sum of peaks {sum(peaks.values()) / GIB:.2f} GiB)",
                "met": None,
            }
        )
    if idle:
        total = idle["total_rss_bytes"] / GIB
        rows.append(
            {
                "scenario": f"memory: idle platform under `manage_all.py up`, embedded "
                f"default ({idle['processes']} processes)",
                "figure": "GiB RSS total",
                "value": round(total, 2),
                "ceiling": None,
                "ratio": None,
                "goal": f"<= {IDLE_GOAL_GIB} GiB (PSS {idle['total_pss_bytes'] / GIB:.2f} GiB)",
                "met": total <= IDLE_GOAL_GIB,
            }
        )
    return rows
