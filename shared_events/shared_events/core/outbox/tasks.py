"""Celery tasks of the outbox. Each only calls a relay function."""

from __future__ import annotations

from celery import shared_task

from .kick import clear_pending_kick
from .relay import purge_published, relay_pending


@shared_task(name="shared_events.relay_outbox", ignore_result=True)
def relay_outbox() -> dict[str, int]:
    # Clear the marker first: a commit from now on enqueues a new task, one before is seen here.
    clear_pending_kick()
    result, more_due = relay_pending()
    if more_due:
        # The time budget ran out with rows left: continue in a fresh task so others interleave.
        relay_outbox.apply_async(retry=False, expires=30)
    return {"published": result.published, "failed": result.failed}


@shared_task(name="shared_events.purge_outbox", ignore_result=True)
def purge_outbox() -> int:
    return purge_published()
