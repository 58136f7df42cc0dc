"""A database connection that went away (the server restarted, a failover, an administrator's
pg_terminate_backend): throw it away, and let the next statement open a fresh one.

Django reconnects by itself only at the start of a request or task (CONN_HEALTH_CHECKS); a
long-running relay or consumer, or the rest of a request, would keep using the dead one."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a lost connection raises through Django (psycopg2's and sqlite3's errors are wrapped).
# OperationalError also covers transient refusals (a lock or statement timeout, a deadlock):
# worth another try too.
CONNECTION_ERRORS = (OperationalError, InterfaceError)


def discard_broken_connections() -> None:
    """Close every connection of this thread that no longer works, so the next statement
    connects again. One in the middle of an atomic block is only marked (Django closes it when
    the block ends)."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            continue
        try:
            usable = connection.is_usable()
        except Exception:
            usable = False
        if not usable:
            _close_quietly(connection)


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # closing a dead socket may complain; it is gone either way
        connection.connection = None


def on_fresh_connection(
    operation: Callable[[], T],
    *,
    what: str,
    alias: str = DEFAULT_DB_ALIAS,
    attempts: int = 4,
    pause: float = 0.1,
) -> T:
    """Run `operation`; if the connection was lost under it, close it and run it again on a
    new one, at most `attempts` times in all (pausing a little longer each time). Only for
    operations that are safe to repeat, and never inside an atomic block (whose transaction
    died with its connection: only its owner can start over). Other errors, and a connection
    that still works, are raised at once."""
    connection = connections[alias]
    for attempt in range(1, attempts + 1):
        raw = connection.connection
        try:
            return operation()
        except CONNECTION_ERRORS as exc:
            if attempt == attempts or connection.in_atomic_block or not _lost(connection, raw):
                raise
            log.warning(
                "%s: the database connection was lost (%s: %s); reconnecting (attempt %d of %d)",
                what,
                type(exc).__name__,
                str(exc).strip()[:200],
                attempt + 1,
                attempts,
            )
            _close_quietly(connection)
            time.sleep(pause * attempt)
    raise AssertionError("unreachable")


def _lost(connection, raw: object) -> bool:
    """Whether the DB-API connection `raw`, in use when the error came, is gone."""
    if raw is None or connection.connection is not raw:
        # Django dropped it already (an atomic block whose rollback failed closes it, and may
        # have connected again to restore autocommit).
        return True
    if getattr(raw, "closed", False):  # psycopg marks one the server ended
        return True
    return not connection.is_usable()
