"""The beat and the event consumer as threads of the service's Celery worker: one process
instead of three, for the embedded default of `manage_all.py up` (README, "Roles in one
process"). The pods, and `up` on a PostgreSQL/Redis/NATS of your own, run each role in a
process of its own.

    celery -A config worker --beat-thread --consumer-thread ...

- Beat: Celery's own embedded beat in its threaded form (`celery.beat.EmbeddedService(...,
  thread=True)`; `-B` forks a process instead), with the scheduler and schedule file a
  `celery beat` process would use. Run it in one worker per service only.
- Consumer: the same `ConsumerRunner` as `manage.py consume_events` (inbox in the applying
  transaction, ack after commit, per-aggregate order, the partitions of this process), on an
  event loop of its own in its thread. A warm shutdown of the worker (SIGTERM) stops it as
  SIGTERM stops the command: the batch in hand commits and is acked first.

A role thread that ends while the worker runs stops the worker with exit code 1, as a beat or
consumer process that dies ends its own process: the worker never goes on without its beat
or consumer (under `up`, every other process is then stopped with that code).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import click
from celery import Celery, bootsteps

log = logging.getLogger(__name__)

BEAT_OPTION = "--beat-thread"
CONSUMER_OPTION = "--consumer-thread"
# How long a stopping consumer may take to finish and ack the batch in hand.
_CONSUMER_STOP_SECONDS = 30.0
_EX_FAILURE = 1


def install(app: Celery) -> None:
    """The worker's two options and the steps that read them."""
    app.user_options["worker"].add(
        click.Option(
            [BEAT_OPTION],
            is_flag=True,
            default=False,
            help="Run the service's beat in a thread of this worker (one worker per service).",
        )
    )
    app.user_options["worker"].add(
        click.Option(
            [CONSUMER_OPTION],
            is_flag=True,
            default=False,
            help="Run the service's event consumer (`manage.py consume_events`) in a thread.",
        )
    )
    app.steps["worker"].add(BeatThread)
    app.steps["worker"].add(ConsumerThread)


def hosts_beat(worker: Any) -> bool:
    """Whether this worker runs the beat (its metrics port then serves the beat's gauges)."""
    return bool(getattr(worker, "options", {}).get("beat_thread"))


def stop_the_worker(why: str) -> None:
    """Warm shutdown with exit code 1, by the flag Celery's own SIGTERM handler sets (the
    worker's loop checks it)."""
    from celery.worker import state

    log.critical("%s: stopping the worker", why)
    state.should_stop = _EX_FAILURE


class _Watched:
    """A role's thread, and whether its end was asked for."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.stopping = threading.Event()

    def ended(self, error: BaseException | None = None) -> None:
        if self.stopping.is_set():
            return
        cause = f" ({error!r})" if error is not None else ""
        stop_the_worker(f"the {self.role} thread ended{cause}")


class BeatThread(bootsteps.StartStopStep):
    """`--beat-thread`: the beat, in a thread (Celery's `EmbeddedService(thread=True)`)."""

    label = "beat thread"
    conditional = True

    def __init__(self, worker: Any, beat_thread: bool = False, **kwargs: Any) -> None:
        self.enabled = bool(beat_thread)
        self.service: Any = None
        self.watched = _Watched("beat")
        super().__init__(worker, **kwargs)

    def start(self, worker: Any) -> None:
        from celery.beat import EmbeddedService

        # As Celery's own `-B` step makes it, less the process.
        self.service = EmbeddedService(
            worker.app,
            thread=True,
            schedule_filename=worker.schedule_filename,
            scheduler_cls=worker.scheduler,
        )
        self.service.start()
        threading.Thread(
            target=self._watch, args=(self.service,), name="beat watch", daemon=True
        ).start()

    def _watch(self, service: Any) -> None:
        service.join()
        self.watched.ended()

    def stop(self, worker: Any) -> None:
        self.watched.stopping.set()
        if self.service is not None and self.service.is_alive():
            self.service.stop()  # the schedule is saved; at most a tick (1 s) to notice
        self.service = None

    def shutdown(self, worker: Any) -> None:  # a cold shutdown stops it the same way
        self.stop(worker)


class ConsumerThread(bootsteps.StartStopStep):
    """`--consumer-thread`: `ConsumerRunner` (consumer/runner.py) on an event loop of its own."""

    label = "consumer thread"
    conditional = True

    def __init__(self, worker: Any, consumer_thread: bool = False, **kwargs: Any) -> None:
        self.enabled = bool(consumer_thread)
        self.thread: threading.Thread | None = None
        self.watched = _Watched("consumer")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        super().__init__(worker, **kwargs)

    def start(self, worker: Any) -> None:
        self.thread = threading.Thread(target=self._run, name="consumer", daemon=True)
        self.thread.start()
        self._ready.wait()

    def _run(self) -> None:
        error: BaseException | None = None
        try:
            asyncio.run(self._consume())
        except BaseException as exc:
            log.exception("the consumer thread failed")
            error = exc
        finally:
            self._ready.set()  # a failure before the loop ran must not hold the start
            self.watched.ended(error)

    async def _consume(self) -> None:
        from .consumer.runner import ConsumerRunner

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await ConsumerRunner().run(self._stop)

    def stop(self, worker: Any) -> None:
        self.watched.stopping.set()
        if self._loop is not None and self._stop is not None:
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:  # its loop already closed: the thread has ended
                pass
        if self.thread is not None:
            self.thread.join(_CONSUMER_STOP_SECONDS)
            if self.thread.is_alive():
                log.warning("the consumer thread did not stop in %.0f s", _CONSUMER_STOP_SECONDS)
        self.thread = None

    def shutdown(self, worker: Any) -> None:
        self.stop(worker)
