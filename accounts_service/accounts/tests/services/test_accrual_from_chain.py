"""Points per epoch in chain mode: only a delegator whose proven stake address is in the
epoch's stored stake distribution earns it; an epoch of the loyalty window not stored yet is
waited for and credited later, never guessed. The open mode credits everyone, as before."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.chain.sources import StakeRow
from accounts.models import Account, LedgerEntry
from accounts.services import account_register, accrue_epoch_points, epoch_stake_import
from shared_events.core.outbox.models import OutboxEvent
from shared_events.kit.epochs import epoch_at, epoch_start

from ..chain.remotes import POOL, stake_addresses
from ..conftest import PASSWORD

pytestmark = pytest.mark.django_db
LOYAL, NOW_AND_THEN, ELSEWHERE, UNPROVEN = stake_addresses(4, seed="accrual")


@pytest.fixture(autouse=True)
def _chain_mode(settings):
    settings.CHAIN_SOURCE = "file"
    settings.OPEN_ELIGIBILITY = False
    settings.POOL_ID = POOL
    settings.LOYALTY_BACKFILL_EPOCHS = 3
    settings.POINTS_PER_EPOCH = 2


def delegator(name, address=None, *, proven=True):
    account = account_register(email=f"{name}@example.org", password=PASSWORD)
    if address:
        Account.objects.filter(pk=account.pk).update(
            stake_address=address, stake_address_verified_at=timezone.now() if proven else None
        )
    account.refresh_from_db()
    return account


@pytest.fixture
def people():
    return {
        "loyal": delegator("loyal", LOYAL),
        "sometimes": delegator("some", NOW_AND_THEN),
        "elsewhere": delegator("else", ELSEWHERE),
        "unproven": delegator("un", UNPROVEN, proven=False),
        "none": delegator("none"),
    }


def joined():
    return epoch_at(timezone.now())


def store(epoch, *addresses):
    epoch_stake_import(
        epoch=epoch, pool_id=POOL, source="file", rows=[StakeRow(a, 5_000_000) for a in addresses]
    )


def during(epoch):
    return epoch_start(epoch) + timedelta(hours=1)


def credited(account):
    return sorted(
        LedgerEntry.objects.filter(account=account, kind="epoch_accrual").values_list(
            "epoch", flat=True
        )
    )


def test_only_a_proven_address_in_the_epochs_distribution_earns_it(people):
    j = joined()
    # UNPROVEN is in every distribution: a claim without a proof counts for nothing.
    store(j + 1, LOYAL, NOW_AND_THEN, UNPROVEN)
    store(j + 2, LOYAL, UNPROVEN)
    store(j + 3, LOYAL, NOW_AND_THEN, UNPROVEN)
    start = {name: account.points for name, account in people.items()}
    events = OutboxEvent.objects.count()
    report = accrue_epoch_points(now=during(j + 3))
    assert (report.epoch, report.accounts, report.entries) == (j + 3, 2, 5)
    got = {name: credited(account) for name, account in people.items()}
    assert got == {
        "loyal": [j + 1, j + 2, j + 3],
        "sometimes": [j + 1, j + 3],
        "elsewhere": [],
        "unproven": [],
        "none": [],
    }
    for name, account in people.items():
        account.refresh_from_db()
        assert account.points == start[name] + 2 * len(got[name])
        assert account.accrued_through_epoch == j + 3  # passed, not owed again
    assert OutboxEvent.objects.count() == events + 2  # one event per credited account
    entry = LedgerEntry.objects.get(account=people["loyal"], epoch=j + 2)
    assert entry.reason == f"epoch {j + 2}: {LOYAL} delegated to the pool"
    assert accrue_epoch_points(now=during(j + 3)).entries == 0


def test_an_epoch_not_stored_yet_is_waited_for_and_credited_later(people):
    j = joined()
    store(j + 1, LOYAL)
    store(j + 3, LOYAL)
    assert accrue_epoch_points(now=during(j + 3)).epoch == j + 1
    loyal = people["loyal"]
    assert credited(loyal) == [j + 1]
    loyal.refresh_from_db()
    assert loyal.accrued_through_epoch == j + 1
    store(j + 2, LOYAL, NOW_AND_THEN)
    # The current epoch (j + 4) is not stored yet either: credited through j + 3 only.
    accrue_epoch_points(now=during(j + 4))
    assert credited(loyal) == [j + 1, j + 2, j + 3]
    assert credited(people["sometimes"]) == [j + 2]
    store(j + 4, LOYAL)
    accrue_epoch_points(now=during(j + 4))
    assert credited(loyal) == [j + 1, j + 2, j + 3, j + 4]


def test_epochs_older_than_the_window_earn_only_if_stored(people):
    j = joined()
    store(j + 2, LOYAL)  # older than the window of j + 5 (j + 3 .. j + 5), stored anyway
    for epoch in (j + 3, j + 4, j + 5):
        store(epoch, LOYAL)
    # j + 1 is neither stored nor in the window: the sync will never fetch it, so it is passed.
    assert accrue_epoch_points(now=during(j + 5)).epoch == j + 5
    assert credited(people["loyal"]) == [j + 2, j + 3, j + 4, j + 5]


def test_nothing_is_credited_before_the_window_is_stored(people):
    j = joined()
    store(j + 3, LOYAL)  # the backfill has begun with the newest epoch
    report = accrue_epoch_points(now=during(j + 3))
    assert (report.epoch, report.entries) == (j, 0)
    assert credited(people["loyal"]) == []


def test_an_account_from_before_the_watermark_is_not_credited_before_it_joined(people):
    j = joined()
    loyal = people["loyal"]
    Account.objects.filter(pk=loyal.pk).update(accrued_through_epoch=None)
    for epoch in (j - 2, j - 1, j):
        store(epoch, LOYAL)
    accrue_epoch_points(now=during(j))
    loyal.refresh_from_db()
    assert credited(loyal) == [] and loyal.accrued_through_epoch == j


@pytest.mark.parametrize("source, open_eligibility", [("none", False), ("koios", True)])
def test_the_open_mode_credits_every_active_delegator_as_before(
    people, settings, source, open_eligibility
):
    settings.CHAIN_SOURCE, settings.OPEN_ELIGIBILITY = source, open_eligibility
    j = joined()
    report = accrue_epoch_points(now=during(j + 2))  # nothing stored at all
    assert (report.epoch, report.accounts, report.entries) == (j + 2, 5, 10)
    for account in people.values():
        assert credited(account) == [j + 1, j + 2]
    assert LedgerEntry.objects.filter(epoch=j + 1).first().reason == f"epoch {j + 1}"
