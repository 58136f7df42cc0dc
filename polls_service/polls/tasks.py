"""Celery tasks of polls; each only calls a service function."""

from celery import shared_task

from .services import payouts_check_pending, polls_open_and_close_due


@shared_task(name="polls.open_and_close_due", ignore_result=True)
def open_and_close_due() -> dict[str, int]:
    return polls_open_and_close_due()


@shared_task(name="polls.check_payouts", ignore_result=True, soft_time_limit=600)
def check_payouts() -> dict[str, int]:
    return payouts_check_pending()
