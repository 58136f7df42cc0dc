"""A poll's causes are part of its published state (`PollState.causes`), so any change to them
republishes the poll in the same transaction, whichever way it is made:

- `PollCause.save()` / `.delete()` / `QuerySet.delete()` / `poll.causes.remove()` / `.clear()`
  republish through the signals below;
- `bulk_create`, `bulk_update` and `update` (and so `poll.causes.add()`) send no signals and are
  refused by `PollCauseQuerySet`;
- raw SQL is caught in tests: every test ends by checking that each poll's newest event carries
  the causes it has (`polls/tests/conftest.py`).

`polls.services` changes a whole list at once inside `causes_batch()` and saves the poll after,
so one change is one event rather than one per row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from .models import Poll, PollCause

_batched: ContextVar[frozenset[uuid.UUID]] = ContextVar("polls_causes_batched", default=frozenset())


@contextmanager
def causes_batch(poll: Poll) -> Iterator[None]:
    """Row writes for this poll inside do not republish one by one: the caller must save (or
    republish) the poll afterwards, in the same transaction."""
    token = _batched.set(_batched.get() | {poll.pk})
    try:
        yield
    finally:
        _batched.reset(token)


def _require_transaction(
    sender: type[PollCause], instance: PollCause, using: str, **kwargs: Any
) -> None:
    # Checked before the write: in autocommit the row would commit before its poll event.
    if not kwargs.get("raw") and not connections[using].in_atomic_block:
        raise RuntimeError(
            "change a poll's causes inside transaction.atomic() (better: "
            "polls.services.poll_update), so the row and the poll event commit "
            "together"
        )


def _deleting_the_poll(origin: Any) -> bool:
    return isinstance(origin, Poll) or (isinstance(origin, QuerySet) and origin.model is Poll)


def _republish_poll(
    sender: type[PollCause], instance: PollCause, using: str, **kwargs: Any
) -> None:
    if kwargs.get("raw") or instance.poll_id in _batched.get():
        return
    if _deleting_the_poll(kwargs.get("origin")):
        return  # the poll's own tombstone is the event; an update before it would reuse its version
    Poll.objects.using(using).get(pk=instance.poll_id).republish(using=using)


def connect() -> None:
    pre_save.connect(_require_transaction, sender=PollCause, dispatch_uid="polls-causes-pre-save")
    pre_delete.connect(
        _require_transaction, sender=PollCause, dispatch_uid="polls-causes-pre-delete"
    )
    post_save.connect(_republish_poll, sender=PollCause, dispatch_uid="polls-causes-post-save")
    post_delete.connect(_republish_poll, sender=PollCause, dispatch_uid="polls-causes-post-delete")
