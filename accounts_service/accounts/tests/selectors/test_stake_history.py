"""Reads of the stored stake history: one epoch's distribution (unknown is not empty), and the
chain source's state as status and the admin show it."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.chain.sources import StakeRow
from accounts.models import ChainSyncState
from accounts.selectors import (
    chain_source_staleness,
    chain_status,
    epoch_stake_distribution,
    epoch_stake_newest,
)
from accounts.services import epoch_stake_import
from shared_events.kit.epochs import epoch_start

from ..chain.remotes import POOL, stake_addresses

pytestmark = pytest.mark.django_db
A, B = stake_addresses(2)


def test_an_epochs_distribution_and_the_difference_between_unknown_and_empty():
    epoch_stake_import(epoch=511, pool_id=POOL, rows=[], source="koios")
    epoch_stake_import(
        epoch=512, pool_id=POOL, rows=[StakeRow(A, 7), StakeRow(B, 9)], source="koios"
    )
    assert epoch_stake_distribution(epoch=512) == {A: 7, B: 9}
    assert epoch_stake_distribution(epoch=511) == {}
    assert epoch_stake_distribution(epoch=510) is None
    assert epoch_stake_newest().epoch == 512


def test_status_before_anything_is_stored(settings):
    settings.CHAIN_SOURCE = "koios"
    status = chain_status()
    assert (status["newest_epoch"], status["stale_since"], status["problems"]) == (None, None, [])
    assert status["summary"] == "chain source: koios, nothing stored yet"


def test_status_after_a_good_sync(settings):
    settings.CHAIN_SOURCE = "blockfrost"
    epoch_stake_import(epoch=512, pool_id=POOL, rows=[StakeRow(A, 7)], source="blockfrost")
    synced = datetime(2026, 5, 1, 12, 30, 15, tzinfo=UTC)
    ChainSyncState.objects.create(id=1, source="blockfrost", last_success_at=synced)
    status = chain_status()
    assert status["newest_epoch"]["delegators"] == 1 and status["problems"] == []
    assert status["summary"] == (
        "chain source: blockfrost, newest epoch 512 (1 delegator); synced 2026-05-01 12:30 UTC"
    )


def test_stale_counts_only_for_a_polled_source(settings):
    ChainSyncState.objects.create(
        id=1,
        source="koios",
        failing_since=datetime.now(UTC) - timedelta(hours=1),
        last_error="Koios tip: server error 503",
    )
    settings.CHAIN_SOURCE = "koios"
    assert chain_status()["problems"][0].startswith("chain source koios stale since ")
    # Switched to files: the old source's failures are no longer a problem.
    settings.CHAIN_SOURCE = "file"
    assert (chain_status()["stale_since"], chain_status()["problems"]) == (None, [])


def test_staleness_counts_from_when_the_next_epoch_was_due(settings):
    settings.CHAIN_SOURCE = "koios"
    settings.CHAIN_EPOCH_SETTLE_SECONDS = 3600
    epoch_stake_import(epoch=512, pool_id=POOL, rows=[StakeRow(A, 7)], source="koios")
    due = epoch_start(513) + timedelta(hours=1)  # 513 settled: the sync wants it from then
    assert chain_source_staleness(now=due - timedelta(seconds=1)) == (512, 0.0)
    assert chain_source_staleness(now=due + timedelta(minutes=5)) == (512, 300.0)
    epoch_stake_import(epoch=513, pool_id=POOL, rows=[StakeRow(A, 7)], source="koios")
    assert chain_source_staleness(now=due + timedelta(minutes=5)) == (513, 0.0)
    # Files come when an operator brings them: never stale.
    settings.CHAIN_SOURCE = "file"
    assert chain_source_staleness(now=due + timedelta(days=30)) == (513, 0.0)


def test_staleness_with_nothing_stored_counts_from_the_first_failure(settings):
    settings.CHAIN_SOURCE = "blockfrost"
    now = datetime.now(UTC)
    assert chain_source_staleness(now=now) == (None, 0.0)
    ChainSyncState.objects.create(
        id=1, source="blockfrost", failing_since=now - timedelta(minutes=2), last_error="503"
    )
    assert chain_source_staleness(now=now) == (None, 120.0)
