"""Celery discovers `<app>.tasks`; the tasks live with the code they call."""

from celery import shared_task

from .consumer.apply import purge_inbox
from .outbox.tasks import purge_outbox, relay_outbox


@shared_task(name="shared_events.purge_inbox", ignore_result=True)
def purge_inbox_task() -> int:
    return purge_inbox()


__all__ = ["purge_inbox_task", "purge_outbox", "relay_outbox"]
