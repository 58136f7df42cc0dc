"""The liveness heartbeat (shared_events.core.heartbeat) of the Celery worker and beat.

- Worker: a step of the worker's blueprint starts a thread that hands the pool a no-op every
  HEARTBEAT_INTERVAL_SECONDS and beats once a pool thread has run it. Tasks that never return
  (the threads pool has no time limits) fill every thread, the no-op waits behind them, and
  the beats stop; a broker outage does not stop them (the pool still runs the no-op while the
  worker reconnects).
- Beat: the scheduler beats after each pass over the schedule, and passes at least every
  interval. A loop that hangs (a publish that never returns) stops the beats.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from celery import Celery, bootsteps
from celery.beat import PersistentScheduler

from .heartbeat import Heartbeat

BEAT_SCHEDULER = f"{__name__}:HeartbeatScheduler"


def install(app: Celery) -> None:
    """The worker's step and beat's scheduler, on `app` (both idle without HEARTBEAT_FILE).
    The scheduler as a default, read when the configuration loads (a CELERY_BEAT_SCHEDULER
    setting would win)."""
    app.steps["worker"].add(PoolHeartbeat)
    app.add_defaults({"beat_scheduler": BEAT_SCHEDULER})


def _nothing() -> None:
    pass


def _set(event: threading.Event, _result: Any) -> None:
    event.set()


class PoolHeartbeat(bootsteps.StartStopStep):
    """Beats while the worker's pool runs work."""

    requires = ("celery.worker.components:Pool",)
    label = "heartbeat"

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.heartbeat = Heartbeat.from_environment()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, worker: Any) -> None:
        if not self.heartbeat.enabled:
            return
        self._thread = threading.Thread(
            target=self._run, args=(worker.pool,), name="heartbeat", daemon=True
        )
        self._thread.start()

    def stop(self, worker: Any) -> None:
        self._stop.set()

    def _run(self, pool: Any) -> None:
        while not self._stop.is_set():
            ran = threading.Event()
            pool.apply_async(_nothing, callback=functools.partial(_set, ran))
            while not ran.wait(self.heartbeat.interval):
                if self._stop.is_set():
                    return
            self.heartbeat.beat()
            self._stop.wait(self.heartbeat.interval)


class HeartbeatScheduler(PersistentScheduler):
    """Celery's default scheduler (the schedule file of CELERY_BEAT_SCHEDULE_FILENAME), with
    a beat after every pass."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.heartbeat = Heartbeat.from_environment()
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        interval = super().tick(*args, **kwargs)
        self.heartbeat.beat()
        if self.heartbeat.enabled:
            # However far the next entry is, the loop comes back in time for the next beat.
            return min(interval, self.heartbeat.interval)
        return interval
