"""Celery tasks of accounts; each only calls a service function."""

from celery import shared_task
from django.conf import settings

from .services import (
    accrue_epoch_points,
    refresh_tokens_purge_expired,
    stake_challenges_purge_expired,
    stake_history_sync,
)


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
