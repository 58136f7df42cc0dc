"""Points per Cardano epoch: once per account and epoch, however often or wherever it runs."""

import os
import re
import runpy
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

import config
from accounts import tasks
from accounts.models import Account, LedgerEntry, Role
from accounts.services import account_register, account_set_active, accrue_epoch_points
from shared_events.kit.epochs import epoch_at, epoch_start

from ..conftest import PASSWORD

EPOCH_208 = datetime(2020, 7, 29, 21, 44, 51, tzinfo=UTC)


def test_mainnet_epochs():
    assert epoch_at(EPOCH_208) == 208
    assert epoch_at(EPOCH_208 - timedelta(seconds=1)) == 207
    assert epoch_start(209) == datetime(2020, 8, 3, 21, 44, 51, tzinfo=UTC)
    assert epoch_at(epoch_start(600) + timedelta(days=4, hours=23)) == 600


@pytest.fixture
def joined(db):
    """A delegator who joined in the middle of the current epoch."""
    account = account_register(email="d@example.org", password=PASSWORD)
    return account, epoch_at(account.date_joined)


def credited_epochs(account):
    return sorted(
        LedgerEntry.objects.filter(account=account, kind="epoch_accrual").values_list(
            "epoch", flat=True
        )
    )


def test_the_epoch_one_joins_in_is_not_credited_the_next_ones_are(joined, settings):
    settings.POINTS_PER_EPOCH = 3
    account, epoch = joined
    start = account.points
    assert accrue_epoch_points(now=epoch_start(epoch) + timedelta(seconds=1)).entries == 0
    report = accrue_epoch_points(now=epoch_start(epoch + 1))
    assert (report.accounts, report.entries) == (1, 1)
    account.refresh_from_db()
    assert account.points == start + 3 and credited_epochs(account) == [epoch + 1]


def test_running_twice_credits_once_and_missed_epochs_are_caught_up(joined):
    account, epoch = joined
    start = account.points
    accrue_epoch_points(now=epoch_start(epoch + 1))
    accrue_epoch_points(now=epoch_start(epoch + 1) + timedelta(hours=1))
    accrue_epoch_points(now=epoch_start(epoch + 5))
    accrue_epoch_points(now=epoch_start(epoch + 5))
    account.refresh_from_db()
    assert credited_epochs(account) == [epoch + 1, epoch + 2, epoch + 3, epoch + 4, epoch + 5]
    assert account.points == start + 5
    last = LedgerEntry.objects.filter(account=account, epoch__isnull=False).order_by("-epoch")[0]
    assert last.balance_after == account.points


def test_operators_and_inactive_delegators_are_not_credited(joined):
    account, epoch = joined
    operator = account_register(email="op@example.org", password=PASSWORD, role=Role.OPERATOR)
    account_set_active(account=account, is_active=False)
    accrue_epoch_points(now=epoch_start(epoch + 2))
    assert credited_epochs(account) == [] and credited_epochs(operator) == []
    # Back again: every epoch since joining that was never credited is owed.
    account_set_active(account=account, is_active=True)
    accrue_epoch_points(now=epoch_start(epoch + 2))
    assert credited_epochs(account) == [epoch + 1, epoch + 2]


def test_each_credit_is_published_with_the_new_balance(joined):
    import json

    from shared_events.core.outbox.models import OutboxEvent

    account, epoch = joined
    accrue_epoch_points(now=epoch_start(epoch + 2))
    account.refresh_from_db()
    last = OutboxEvent.objects.filter(aggregate_id=str(account.pk)).order_by("seq").last()
    assert json.loads(bytes(last.payload))["data"]["points"] == account.points


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_never_credit_twice():
    accounts = [account_register(email=f"d{i}@example.org", password=PASSWORD) for i in range(60)]
    epoch = max(epoch_at(a.date_joined) for a in accounts)
    start = {a.pk: a.points for a in accounts}
    errors = []

    def worker():
        try:
            accrue_epoch_points(now=epoch_start(epoch + 3), chunk=7)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    for account in Account.objects.filter(pk__in=start):
        assert account.points == start[account.pk] + 3, account
        assert len(credited_epochs(account)) == 3


def test_the_beat_runs_accrual_every_interval_and_drops_stale_runs():
    entry = django_settings.CELERY_BEAT_SCHEDULE["accrue-epoch-points"]
    interval = float(os.environ.get("EPOCH_ACCRUAL_INTERVAL_SECONDS") or "60")
    assert entry == {
        "task": "accounts.accrue_epoch_points",
        "schedule": interval,
        "options": {"expires": 30},
    }
    assert tasks.accrue_epoch_points_task.name == "accounts.accrue_epoch_points"


def test_the_accrual_interval_comes_from_its_setting(monkeypatch):
    """config/settings.py evaluated afresh (not the loaded settings) with the variable set."""
    monkeypatch.setenv("EPOCH_ACCRUAL_INTERVAL_SECONDS", "7.5")
    fresh = runpy.run_path(str(Path(config.__file__).with_name("settings.py")))
    entry = fresh["CELERY_BEAT_SCHEDULE"]["accrue-epoch-points"]
    assert (entry["task"], entry["schedule"]) == ("accounts.accrue_epoch_points", 7.5)
    monkeypatch.delenv("EPOCH_ACCRUAL_INTERVAL_SECONDS")
    fresh = runpy.run_path(str(Path(config.__file__).with_name("settings.py")))
    assert fresh["CELERY_BEAT_SCHEDULE"]["accrue-epoch-points"]["schedule"] == 60.0


def test_the_task_credits_the_current_epoch_through_the_service(joined, settings):
    from shared_events.core.outbox.models import OutboxEvent

    settings.POINTS_PER_EPOCH = 4
    account, _ = joined
    current = epoch_at(datetime.now(UTC))
    # Owed the current epoch, as if it joined in the one before (not a published field).
    Account.objects.filter(pk=account.pk).update(accrued_through_epoch=current - 1)
    start, events = account.points, OutboxEvent.objects.filter(aggregate_id=str(account.pk)).count()
    assert tasks.accrue_epoch_points_task.apply().get() == 1
    account.refresh_from_db()
    assert account.points == start + 4 and account.accrued_through_epoch == current
    assert credited_epochs(account) == [current]
    assert OutboxEvent.objects.filter(aggregate_id=str(account.pk)).count() == events + 1
    # Again: nothing more is owed.
    assert tasks.accrue_epoch_points_task.apply().get() == 0
    assert credited_epochs(account) == [current]


@pytest.mark.django_db
def test_the_scan_for_owed_accounts_reads_them_by_the_owed_index(joined):
    """Each chunk reads the owed accounts alone (`account_owed_idx`), never those credited
    already: a scan by primary key with a filter, as before, made a run grow with the square
    of the delegators. The plan, with sequential scans priced out as on a large table."""
    from django.db import transaction

    from accounts.services.accrual import _owed

    if connection.vendor != "postgresql":
        pytest.skip("the plan checked is PostgreSQL's")
    _account, joined_in = joined
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = (
            _owed(joined_in + 1).select_for_update(skip_locked=True)[:1000].query.sql_with_params()
        )
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row for (row,) in cursor.fetchall())
    # The index bounds the scan (not a filter over every row it holds) and gives the order.
    assert re.search(
        r"Index Scan using account_owed_idx .*\n\s+Index Cond: \(COALESCE\(accrued_through_epoch",
        plan,
    ), plan
    assert "Sort" not in plan, plan
