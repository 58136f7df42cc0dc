"""Celery tasks of voting_service. Each only calls a service function."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="voting.refresh_tallies", ignore_result=True)
def refresh_tallies() -> int:
    # Closing polls whose closes_at passed get their final tally first, in the same tick.
    services.polls_close_due()
    # A poll that opened before its snapshot epoch was complete here gets its power now.
    services.powers_freeze_due()
    return services.tallies_refresh_open()
