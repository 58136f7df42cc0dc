"""Celery tasks of accounts; each only calls a service function."""

from celery import shared_task

from .services import (
    accrue_epoch_points,
    refresh_tokens_purge_expired,
    stake_challenges_purge_expired,
)


@shared_task(name="accounts.purge_expired_refresh_tokens", ignore_result=True)
def purge_expired_refresh_tokens() -> int:
    return refresh_tokens_purge_expired()


@shared_task(name="accounts.accrue_epoch_points", ignore_result=True)
def accrue_epoch_points_task() -> int:
    return accrue_epoch_points().entries


@shared_task(name="accounts.purge_expired_stake_challenges", ignore_result=True)
def purge_expired_stake_challenges() -> int:
    return stake_challenges_purge_expired()
