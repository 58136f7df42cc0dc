"""The `accounts.epoch_stake` events: an epoch's rows with their loyalty, in sorted parts of at
most 1000, recorded with the import that made them final, once, and never before the loyalty
window behind them is stored (the sync backfills newest first)."""

import json
import threading

import pytest
from django.db import connection, transaction

from accounts.chain.sources import StakeRow
from accounts.models import EpochStakePublication
from accounts.services import epoch_stake_events, epoch_stake_import, stake_history_sync
from shared_events.core.outbox.models import OutboxEvent
from shared_events.core.schemas import decode
from shared_events.core.schemas.accounts import EpochStakePart

from ..chain.remotes import POOL, stake_addresses

pytestmark = pytest.mark.django_db
A, B, C, D, E = sorted(stake_addresses(5, seed="loyal"))


@pytest.fixture(autouse=True)
def _pool(settings):
    settings.POOL_ID = POOL
    settings.LOYALTY_BACKFILL_EPOCHS = 4


def store(epoch, *addresses, lovelace=5_000_000):
    return epoch_stake_import(
        epoch=epoch,
        pool_id=POOL,
        source="file",
        rows=[StakeRow(a, lovelace + i) for i, a in enumerate(addresses)],
    )


def parts(epoch=None):
    """The decoded EpochStakePart events in the outbox, in part order."""
    rows = OutboxEvent.objects.filter(event_type__startswith="accounts.epoch_stake.")
    events = [decode(bytes(row.payload)) for row in rows.order_by("seq")]
    return sorted(
        (e for e in events if epoch is None or e.data.epoch == epoch),
        key=lambda e: (e.data.epoch, e.data.part),
    )


def loyalty(epoch):
    return {row[0]: row[2] for event in parts(epoch) for row in event.data.rows}


def test_an_epoch_goes_out_in_sorted_parts_of_at_most_1000_rows(settings):
    settings.LOYALTY_BACKFILL_EPOCHS = 1
    addresses = stake_addresses(2500, seed="many")
    rows = [StakeRow(a, 1_000_000 + i) for i, a in enumerate(addresses)]
    epoch_stake_import(epoch=512, pool_id=POOL, rows=rows, source="koios")
    sent = parts(512)
    assert [len(e.data.rows) for e in sent] == [1000, 1000, 500]
    assert [
        (e.envelope.aggregate_id, e.envelope.version, e.type, e.data.part, e.data.parts)
        for e in sent
    ] == [(f"512-{n}", 1, "accounts.epoch_stake.created", n, 3) for n in range(3)]
    assert {e.data.pool_id for e in sent} == {POOL}
    together = [row for e in sent for row in e.data.rows]
    assert together == [[a, lovelace, 1] for a, lovelace in sorted(rows)]
    assert [r[0] for r in together] == sorted(addresses)  # sorted across the parts
    assert EpochStakePublication.objects.get(epoch=512).parts == 3


def test_an_epoch_without_delegators_is_one_part_without_rows(settings):
    settings.LOYALTY_BACKFILL_EPOCHS = 1
    store(512)
    [only] = parts(512)
    assert (only.envelope.aggregate_id, only.data.part, only.data.parts, only.data.rows) == (
        "512-0",
        0,
        1,
        [],
    )


def test_loyalty_counts_consecutive_epochs_up_to_the_epoch_within_the_window():
    # Epoch:  506 507 508 509 510 511 512    window of 512 (4 epochs): 509-512
    # A        x   x   x   x   x   x   x     -> 4 (the window caps it)
    # B                    x       x   x     -> 2 (not in 510)
    # C                                x     -> 1 (new)
    # D            x   x   x   x   x         -> not in 512: no row
    # E                x       x   x   x     -> 3
    history = {
        506: [A],
        507: [A, D],
        508: [A, D, E],
        509: [A, B, D],
        510: [A, D, E],
        511: [A, B, D, E],
        512: [A, B, C, E],
    }
    for epoch, addresses in history.items():
        store(epoch, *addresses)
    assert loyalty(512) == {A: 4, B: 2, C: 1, E: 3}
    # 511's window is 508-511: A 4, B 1 (not in 510), D 4, E 2.
    assert loyalty(511) == {A: 4, B: 1, D: 4, E: 2}
    # Every epoch whose window is stored went out, each once; 506-508 wait for older epochs.
    assert sorted(EpochStakePublication.objects.values_list("epoch", flat=True)) == [
        509,
        510,
        511,
        512,
    ]


def test_an_epoch_waits_while_the_backfill_runs_newest_first():
    for epoch in (512, 511, 510):
        store(epoch, A, B)
        assert parts() == [], f"sent before epoch {epoch - 1} of the window was stored"
    store(509, A)
    # Sent in the transaction that stored the last epoch of its window, with final loyalty;
    # the older epochs' windows reach past the history, so they wait.
    assert loyalty(512) == {A: 4, B: 3}
    assert [e.data.epoch for e in parts()] == [512]


def test_an_older_epoch_stored_later_sends_the_epochs_whose_window_it_completes():
    for epoch in (509, 510, 511, 512):
        store(epoch, A)
    assert [e.data.epoch for e in parts()] == [512]
    store(508, A)  # completes 511's window (508-511)
    assert [e.data.epoch for e in parts()] == [511, 512]
    store(506, A)
    assert [e.data.epoch for e in parts()] == [511, 512]  # 509 still misses 507
    store(507)  # an epoch without delegators counts as stored
    assert [e.data.epoch for e in parts()] == [509, 510, 511, 512]
    assert loyalty(509) == {A: 2} and loyalty(510) == {A: 3} and loyalty(512) == {A: 4}


def test_importing_a_stored_epoch_again_sends_nothing_new(settings):
    settings.LOYALTY_BACKFILL_EPOCHS = 1
    store(512, A, B)
    before = OutboxEvent.objects.count()
    assert not store(512, A, B).created
    assert OutboxEvent.objects.count() == before and len(parts()) == 1


def test_a_rolled_back_import_sends_nothing(settings):
    settings.LOYALTY_BACKFILL_EPOCHS = 1
    with pytest.raises(RuntimeError), transaction.atomic():
        store(512, A)
        assert len(parts()) == 1
        raise RuntimeError("the caller's transaction fails")
    assert parts() == [] and not EpochStakePublication.objects.exists()


def test_the_sync_sends_stored_epochs_whose_window_became_complete(settings):
    # Stored with a window of 4 (unsent); the setting lowered to 1 sends them at the next sync,
    # whatever the source.
    for epoch in (511, 512):
        store(epoch, A)
    assert parts() == []
    settings.LOYALTY_BACKFILL_EPOCHS = 1
    settings.CHAIN_SOURCE = "file"
    stake_history_sync()
    assert [(e.data.epoch, e.data.rows[0][2]) for e in parts()] == [(511, 1), (512, 1)]


def test_the_parts_decode_as_voting_reads_them():
    for epoch in (509, 510, 511, 512):
        store(epoch, A, B)
    [event] = parts(512)
    assert isinstance(event.data, EpochStakePart)
    raw = json.loads(bytes(OutboxEvent.objects.get(aggregate_id="512-0").payload))
    assert raw["type"] == "accounts.epoch_stake.created"
    assert raw["data"] == {
        "epoch": 512,
        "part": 0,
        "parts": 1,
        "pool_id": POOL,
        "rows": [[A, 5_000_000, 4], [B, 5_000_001, 4]],
        "loyalty_window": 4,
    }


@pytest.mark.django_db(transaction=True)
def test_two_imports_completing_a_window_together_send_it_once(settings, monkeypatch):
    """Both transactions have stored their epoch before either decides: each alone sees the
    window incomplete, so the second to decide must see the first's commit."""
    settings.LOYALTY_BACKFILL_EPOCHS = 3
    store(512, A)
    both_stored = threading.Barrier(2, timeout=20)
    real = epoch_stake_events._serialize_publication

    def after_both_stored():
        both_stored.wait()
        real()

    monkeypatch.setattr(epoch_stake_events, "_serialize_publication", after_both_stored)
    errors = []

    def import_epoch(epoch):
        try:
            store(epoch, A)
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=import_epoch, args=(e,)) for e in (510, 511)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert [e.data.epoch for e in parts()] == [512]
    assert loyalty(512) == {A: 3}
