"""accounts' beat reads, when scraped, the chain source's newest epoch, how stale it is, and the
newest epoch accrued."""

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from accounts import metrics_scrape
from accounts.chain.sources import StakeRow
from accounts.models import Account
from accounts.services import epoch_stake_import
from shared_events.kit.epochs import epoch_at

from .chain.remotes import POOL, stake_addresses

pytestmark = pytest.mark.django_db


def gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"service": "accounts"})


def test_the_gauges_read_the_stored_epochs_and_the_accrual(settings, delegator):
    settings.CHAIN_SOURCE = "koios"
    settings.CHAIN_EPOCH_SETTLE_SECONDS = 0
    current = epoch_at(timezone.now())
    # Stored two epochs behind: the one after it has been due for more than an epoch.
    epoch_stake_import(
        epoch=current - 2, pool_id=POOL, rows=[StakeRow(stake_addresses(1)[0], 7)], source="koios"
    )
    Account.objects.filter(pk=delegator.pk).update(accrued_through_epoch=current)
    metrics_scrape.refresh()
    assert gauge("chain_source_last_epoch") == current - 2
    assert gauge("chain_source_stale_seconds") > 0
    assert gauge("accrual_last_epoch") == current

    epoch_stake_import(
        epoch=current, pool_id=POOL, rows=[StakeRow(stake_addresses(1)[0], 7)], source="koios"
    )
    metrics_scrape.refresh()
    assert (gauge("chain_source_last_epoch"), gauge("chain_source_stale_seconds")) == (current, 0)
