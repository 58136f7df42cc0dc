"""Celery tasks of accounts; each only calls a service function."""

import random
import uuid

from celery import shared_task
from django.conf import settings

from .services import (
    accrue_epoch_points,
    refresh_tokens_purge_expired,
    stake_challenges_purge_expired,
    stake_history_sync,
)
from .services.notices import notice_round_plan, notices_send, notices_sweep
from .services.notification_settings import email_confirmation_send


@shared_task(name="accounts.purge_expired_refresh_tokens", ignore_result=True)
def purge_expired_refresh_tokens() -> int:
    return refresh_tokens_purge_expired()


@shared_task(name="accounts.accrue_epoch_points", ignore_result=True)
def accrue_epoch_points_task() -> int:
    return accrue_epoch_points().entries


# The Blockfrost SDK sets no request timeout: the soft limit ends a sync stuck on a hung call
# (recorded as a failure, the epochs stored so far stay), the hard limit a stuck worker.
@shared_task(
    name="accounts.sync_stake_history",
    ignore_result=True,
    soft_time_limit=settings.CHAIN_SYNC_TIME_LIMIT_SECONDS,
    time_limit=settings.CHAIN_SYNC_TIME_LIMIT_SECONDS + 60,
)
def sync_stake_history_task() -> int:
    return len(stake_history_sync().imported)


@shared_task(name="accounts.purge_expired_stake_challenges", ignore_result=True)
def purge_expired_stake_challenges() -> int:
    return stake_challenges_purge_expired()


# Notifications (services/notices.py). Sends retry with exponential backoff and jitter; a
# notice is claimed before it is sent, so a retried or redelivered task sends nothing twice.
_SEND_BACKOFF_CAP_SECONDS = 600


def _backoff(retries: int) -> int:
    return min(_SEND_BACKOFF_CAP_SECONDS, 10 * 2**retries) + random.randint(0, 5)


@shared_task(name="accounts.notice_round_plan", ignore_result=True)
def notice_round_plan_task(round_id: int) -> int:
    return notice_round_plan(round_id=round_id)


# Celery's rate_limit, per worker: NOTIFY_EMAILS_PER_MINUTE messages in batches of
# NOTIFY_BATCH_SIZE (one SMTP connection each).
@shared_task(
    bind=True,
    name="accounts.notices_send",
    ignore_result=True,
    acks_late=True,
    rate_limit=f"{settings.NOTIFY_EMAILS_PER_MINUTE / settings.NOTIFY_BATCH_SIZE:g}/m",
    max_retries=settings.NOTIFY_SEND_ATTEMPTS - 1,
)
def notices_send_task(self, notice_ids: list[str]) -> int:  # type: ignore[no-untyped-def]
    last = self.request.retries >= self.max_retries
    try:
        return notices_send(notice_ids=[uuid.UUID(i) for i in notice_ids], last_attempt=last).sent
    except Exception as exc:
        if last:
            raise
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(
    bind=True,
    name="accounts.email_confirmation_send",
    ignore_result=True,
    max_retries=settings.NOTIFY_SEND_ATTEMPTS - 1,
)
def email_confirmation_send_task(self, account_id: str, email: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        return email_confirmation_send(account_id=uuid.UUID(account_id), email=email)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            raise
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(name="accounts.notices_sweep", ignore_result=True)
def notices_sweep_task() -> int:
    return notices_sweep()
