"""The relay woken by PostgreSQL: a loop in the Celery worker LISTENs on the outbox's channel,
and every transaction that records events NOTIFYs it.

PostgreSQL delivers a notification only when its transaction commits (none for a rollback),
straight to the listening connection: a commit wakes the relay with no Redis key, no Celery
message and no task between them, the hops that made most of the replication lag under load.
The loop also relays every `RELAY_LISTEN_SWEEP_SECONDS` without being woken, and the beat's
sweep (a Celery task, about 1 s) stays under both, so a lost notification, a listening
connection that went away, or a worker without the loop only delays rows, never loses them.
Several workers may each run a loop: they claim with SKIP LOCKED, as any relays do.

Only on PostgreSQL; elsewhere (the embedded SQLite) a commit kicks a Celery task (`kick.py`).
"""

from __future__ import annotations

import logging
import os
import select
import threading
from typing import Any

from django.db import connections, router

from .. import conf
from .models import OutboxEvent

log = logging.getLogger(__name__)

CHANNEL = "shared_events_outbox"
_STOP_TIMEOUT_SECONDS = 15.0


def outbox_alias() -> str:
    return router.db_for_write(OutboxEvent)


def listening(alias: str) -> bool:
    """Whether commits on `alias` wake the relay loop (rather than kick a Celery task)."""
    return bool(conf.get("RELAY_LISTEN")) and connections[alias].vendor == "postgresql"


def notify(using: str) -> None:
    """Wake the relay loops when the current transaction commits. PostgreSQL folds the
    notifications of one transaction on one channel into one."""
    with connections[using].cursor() as cursor:
        cursor.execute(f"NOTIFY {CHANNEL}")


class RelayLoop:
    """A thread that relays whenever a notification comes, and every `sweep_seconds` anyway.

    It runs `relay_pending` (the same claims, publisher and protections as the Celery task)
    on a database connection of its own, and listens on another, opened with the outbox
    database's settings. Any error closes the listening connection and starts over after a
    capped backoff; the rows wait meanwhile for the beat's sweep."""

    def __init__(self, *, alias: str | None = None, sweep_seconds: float | None = None) -> None:
        self.alias = alias or outbox_alias()
        self.sweep_seconds = (
            conf.get("RELAY_LISTEN_SWEEP_SECONDS") if sweep_seconds is None else sweep_seconds
        )
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()  # interrupts the wait on stop
        self._thread: threading.Thread | None = None
        self.relayed = 0  # events published, for tests and logs
        # The listening connection's server process, once listening and caught up.
        self.listener_pid: int | None = None

    def start(self) -> RelayLoop:
        self._thread = threading.Thread(target=self._run, name="relay-loop", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT_SECONDS)
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _run(self) -> None:
        failures = 0
        try:
            while not self._stop.is_set():
                listener = None
                try:
                    listener = self._listen()
                    self._relay()  # what was committed before the LISTEN
                    self.listener_pid = listener.info.backend_pid
                    failures = 0
                    while not self._stop.is_set():
                        self._wait(listener)
                        self._relay()
                except Exception as exc:
                    failures += 1
                    log.warning("relay loop: %s; starting over (the beat sweep relays)", exc)
                    self._stop.wait(conf.backoff(failures, base=0.5, cap=5.0))
                finally:
                    if listener is not None:
                        _close_quietly(listener)
        finally:
            connections[self.alias].close()  # this thread's own

    def _listen(self) -> Any:
        wrapper = connections[self.alias]
        listener = wrapper.get_new_connection(wrapper.get_connection_params())
        listener.autocommit = True
        with listener.cursor() as cursor:
            cursor.execute(f"LISTEN {CHANNEL}")
        return listener

    def _wait(self, listener: Any) -> None:
        """Until a notification comes, the sweep interval passes, or `stop`."""
        readable, _, _ = select.select([listener, self._wake_r], [], [], self.sweep_seconds)
        if listener in readable:
            listener.poll()  # raises if the connection went away
            listener.notifies.clear()

    def _relay(self) -> None:
        from .relay import relay_pending

        more = True
        while more and not self._stop.is_set():
            result, more = relay_pending()
            self.relayed += result.published


def _close_quietly(listener: Any) -> None:
    try:
        listener.close()
    except Exception as exc:  # a dead socket may complain; it is gone either way
        log.debug("relay loop: closing the listening connection: %s", exc)
