"""Storing the pool's stake history: one epoch whole and once, and the sync that keeps it in step
with a real (local) Koios, backfilling the loyalty window and saying since when it is stale."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from pycardano import Network

from accounts.chain.sources import StakeRow
from accounts.chain.sources.koios import KoiosSource
from accounts.models import (
    ChainSyncState,
    EpochStake,
    EpochStakeImport,
    StakeHistoryAppendOnlyError,
)
from accounts.services import epoch_stake_import, stake_history_sync
from shared_events.kit.chain_clients.testing import Answer
from shared_events.kit.epochs import epoch_at, epoch_start
from shared_events.kit.errors import Conflict

from ..chain.remotes import FAST, POOL, KoiosRemote, distribution

pytestmark = pytest.mark.django_db


def rows_of(pairs):
    return sorted(StakeRow(address, int(amount)) for address, amount in pairs)


def stored(epoch):
    return list(
        EpochStake.objects.filter(epoch_id=epoch)
        .order_by("stake_address")
        .values_list("stake_address", "lovelace")
    )


def test_an_epoch_is_stored_whole():
    rows = rows_of(distribution(30))
    result = epoch_stake_import(epoch=512, pool_id=POOL, rows=rows, source="file")
    assert (result.epoch, result.delegators, result.created) == (512, 30, True)
    assert result.total_lovelace == sum(row.lovelace for row in rows)
    assert stored(512) == [tuple(row) for row in rows]
    header = EpochStakeImport.objects.get(epoch=512)
    assert (header.pool_id, header.source, header.delegators) == (POOL, "file", 30)


def test_an_epoch_without_delegators_is_stored_as_such():
    assert epoch_stake_import(epoch=512, pool_id=POOL, rows=[], source="koios").created
    assert EpochStakeImport.objects.get(epoch=512).delegators == 0


def test_importing_the_same_epoch_again_changes_nothing():
    rows = rows_of(distribution(10))
    epoch_stake_import(epoch=512, pool_id=POOL, rows=rows, source="koios")
    again = epoch_stake_import(epoch=512, pool_id=POOL, rows=list(reversed(rows)), source="file")
    assert (again.created, again.delegators) == (False, 10)
    assert EpochStake.objects.count() == 10
    assert EpochStakeImport.objects.get(epoch=512).source == "koios"


def test_other_rows_for_a_stored_epoch_are_refused_and_the_stored_ones_stay():
    rows = rows_of(distribution(10))
    epoch_stake_import(epoch=512, pool_id=POOL, rows=rows, source="koios")
    changed = rows[:-1] + [StakeRow(rows[-1].stake_address, rows[-1].lovelace + 1)]
    with pytest.raises(Conflict, match="Epoch 512 is stored already"):
        epoch_stake_import(epoch=512, pool_id=POOL, rows=changed, source="file")
    assert stored(512) == [tuple(row) for row in rows]


def test_impossible_rows_are_refused_before_anything_is_stored():
    from django.core.exceptions import ValidationError

    address = distribution(1)[0][0]
    for rows in ([StakeRow(address, 1), StakeRow(address, 2)], [StakeRow(address, -1)]):
        with pytest.raises(ValidationError):
            epoch_stake_import(epoch=512, pool_id=POOL, rows=rows, source="file")
    assert not EpochStakeImport.objects.exists()


def test_the_stake_history_is_append_only():
    epoch_stake_import(epoch=512, pool_id=POOL, rows=rows_of(distribution(2)), source="file")
    row, header = EpochStake.objects.first(), EpochStakeImport.objects.get(epoch=512)
    for attempt in (
        lambda: EpochStake.objects.update(lovelace=0),
        lambda: EpochStake.objects.filter(epoch_id=512).delete(),
        lambda: EpochStake.objects.bulk_update([row], ["lovelace"]),
        lambda: row.save(),
        lambda: row.delete(),
        lambda: header.save(),
        lambda: header.delete(),
        lambda: EpochStakeImport.objects.all().delete(),
        lambda: header.stakes.all().delete(),
    ):
        with pytest.raises((StakeHistoryAppendOnlyError, ProtectedError)):
            attempt()
    # A new row reusing a stored primary key fails instead of overwriting.
    with pytest.raises(IntegrityError), transaction.atomic():
        EpochStake(id=row.id, epoch_id=512, stake_address="x", lovelace=1).save()
    assert EpochStake.objects.count() == 2


@pytest.fixture
def koios(http_server, settings):
    settings.POOL_ID = POOL
    settings.CHAIN_SOURCE = "koios"
    settings.LOYALTY_BACKFILL_EPOCHS = 4
    settings.CHAIN_EPOCH_SETTLE_SECONDS = 3600
    remote = KoiosRemote(http_server, tip_epoch=512)
    for epoch in range(500, 520):
        remote.stakes[epoch] = distribution(3 + epoch % 3, seed=str(epoch // 2))
    return remote


def source(remote):
    return KoiosSource(api_url=remote.url, token=None, network=Network.MAINNET, policy=FAST)


def settled(epoch):
    """A moment well inside `epoch`, past its settle time."""
    return epoch_start(epoch) + timedelta(hours=2)


def test_the_first_sync_backfills_the_loyalty_window_newest_first(koios):
    report = stake_history_sync(source=source(koios), now=settled(512))
    assert report.error == ""
    assert [i.epoch for i in report.imported] == [512, 511, 510, 509]
    for epoch in (509, 510, 511, 512):
        assert stored(epoch) == [tuple(row) for row in rows_of(koios.stakes[epoch])]
    state = ChainSyncState.objects.get()
    assert (state.source, state.last_success_at, state.failing_since) == (
        "koios",
        settled(512),
        None,
    )


def test_a_sync_asks_only_for_what_is_missing(koios, http_server):
    stake_history_sync(source=source(koios), now=settled(512))
    http_server.requests.clear()
    assert stake_history_sync(source=source(koios), now=settled(512)).imported == []
    assert http_server.paths() == ["/api/v1/tip"]
    koios.tip_epoch = 513
    report = stake_history_sync(source=source(koios), now=settled(513))
    assert [i.epoch for i in report.imported] == [513]


def test_an_epoch_younger_than_the_settle_time_waits(koios):
    young = epoch_start(512) + timedelta(minutes=10)
    report = stake_history_sync(source=source(koios), now=young)
    assert [i.epoch for i in report.imported] == [511, 510, 509, 508]
    assert not EpochStakeImport.objects.filter(epoch=512).exists()


def test_a_source_that_fails_leaves_the_stored_epochs_and_is_stale_since(koios, http_server):
    stake_history_sync(source=source(koios), now=settled(512))
    koios.tip_epoch = 513
    http_server.faults = [Answer(503, b"")] * 40
    first_failure = settled(513)
    report = stake_history_sync(source=source(koios), now=first_failure)
    assert "server error 503" in report.error and report.imported == []
    stake_history_sync(source=source(koios), now=first_failure + timedelta(hours=1))
    state = ChainSyncState.objects.get()
    assert state.failing_since == first_failure  # stale since the first failure, not the last
    assert state.last_success_at == settled(512)
    assert "server error 503" in state.last_error
    assert sorted(EpochStakeImport.objects.values_list("epoch", flat=True)) == [509, 510, 511, 512]
    # Back again: the missing epoch comes in and the state is fresh.
    http_server.faults = []
    later = first_failure + timedelta(hours=2)
    assert [i.epoch for i in stake_history_sync(source=source(koios), now=later).imported] == [513]
    state.refresh_from_db()
    assert (state.failing_since, state.last_error, state.last_success_at) == (None, "", later)


def test_nonsense_mid_backfill_keeps_the_epochs_imported_before_it(koios):
    koios.stakes[510] = [("stake1nonsense", "5")]
    report = stake_history_sync(source=source(koios), now=settled(512))
    assert [i.epoch for i in report.imported] == [512, 511]
    assert "not a valid Cardano address" in report.error
    assert ChainSyncState.objects.get().failing_since == settled(512)
    assert not EpochStakeImport.objects.filter(epoch__in=[509, 510]).exists()
    # The next sync asks again for what is missing, from the newest.
    koios.stakes[510] = distribution(2, seed="fixed")
    later = stake_history_sync(source=source(koios), now=settled(512) + timedelta(hours=1))
    assert [i.epoch for i in later.imported] == [510, 509]
    assert ChainSyncState.objects.get().failing_since is None


def test_a_second_sync_while_one_runs_does_nothing(koios, http_server):
    now = settled(512)
    ChainSyncState.objects.create(id=1, lease_until=now + timedelta(minutes=5))
    report = stake_history_sync(source=source(koios), now=now)
    assert report.skipped == "another sync is running"
    assert http_server.requests == []
    # A lease left by a worker that died expires.
    later = stake_history_sync(source=source(koios), now=now + timedelta(minutes=6))
    assert len(later.imported) == 4


def test_the_configured_source_is_used(koios, settings):
    settings.KOIOS_API_URL = koios.url
    report = stake_history_sync(now=settled(512))
    assert (report.source, len(report.imported)) == ("koios", 4)


@pytest.mark.parametrize("kind", ["none", "file"])
def test_sources_that_are_not_polled_are_skipped(settings, kind):
    settings.CHAIN_SOURCE = kind
    assert stake_history_sync().skipped == f"CHAIN_SOURCE={kind} is not polled"
    assert not ChainSyncState.objects.exists()


def test_the_beat_task_runs_the_sync(koios, settings):
    from accounts.tasks import sync_stake_history_task

    settings.KOIOS_API_URL = koios.url
    settings.CHAIN_EPOCH_SETTLE_SECONDS = 0
    koios.tip_epoch = epoch_at(timezone.now())  # the task reads the clock itself
    for epoch in range(koios.tip_epoch - 3, koios.tip_epoch + 1):
        koios.stakes[epoch] = distribution(2, seed=str(epoch))
    assert sync_stake_history_task.apply().get() == 4
    assert EpochStakeImport.objects.count() == 4
