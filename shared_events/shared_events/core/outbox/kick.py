"""Waking the relay right after a commit, without a task per commit.

On PostgreSQL the transaction itself notifies the Celery worker's relay loop (`listen.py`).
Elsewhere (the embedded SQLite), and with `RELAY_LISTEN` off, the commit kicks a Celery task:
a Redis key marks "a relay task is queued and has not started yet". A commit enqueues a task
only if it could set that key; the relay deletes the key as it starts, so any commit after that
point enqueues a fresh task, and any commit before it is seen by the queued one. A burst of
commits therefore costs one task, and the beat sweep (about 1 s) catches anything a kick missed
(broker down, worker died). The key names the queue the task goes to, so platforms sharing one
Redis under different CELERY_QUEUE_PREFIXes do not suppress each other's kicks.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connections, transaction

from .. import conf
from ..log_context import bound
from .listen import listening, notify

log = logging.getLogger(__name__)

_PENDING_TTL_MS = 2000
_redis_clients: dict[str, Any] = {}


def _pending_key() -> str:
    from .tasks import relay_outbox

    return f"shared_events:relay-pending:{relay_outbox.app.conf.task_default_queue}"


def _redis() -> Any | None:
    from django.conf import settings

    url = getattr(settings, "CELERY_BROKER_URL", "") or ""
    if not url.startswith(("redis://", "rediss://", "redis+socket://", "unix://")):
        return None
    client = _redis_clients.get(url)
    if client is None:
        import redis

        redis_url = "unix://" + url.split("://", 1)[1] if url.startswith("redis+socket") else url
        client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        _redis_clients[url] = client
    return client


def kick_relay_on_commit(*, using: str) -> None:
    if not conf.get("RELAY_KICK"):
        return
    if listening(using):
        notify(using)  # in the transaction: delivered at its commit, to the worker's relay loop
        return
    connection = connections[using]
    # One callback per transaction is enough, however many events it records.
    if any(entry[1] is kick_relay for entry in connection.run_on_commit):
        return
    transaction.on_commit(kick_relay, using=using)


def kick_relay() -> None:
    try:
        client = _redis()
        if client is not None and not client.set(_pending_key(), b"1", nx=True, px=_PENDING_TTL_MS):
            return
        from .tasks import relay_outbox

        # Not the request's task: it relays every request's events, each logged with its own.
        with bound(request_id=None):
            relay_outbox.apply_async(retry=False, expires=30)
    except Exception as exc:  # never fail a request because the broker is away
        log.warning("could not kick the outbox relay (the beat sweep will): %s", exc)


def clear_pending_kick() -> None:
    try:
        client = _redis()
        if client is not None:
            client.delete(_pending_key())
    except Exception as exc:
        log.debug("could not clear the relay kick marker: %s", exc)
