"""The points ledger is append-only in the model itself, not only in the admin: entries are
created, never changed or deleted, whichever way one tries."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.db.models.deletion import Collector

from accounts.models import Account, LedgerAppendOnlyError, LedgerEntry
from accounts.services import accrue_epoch_points, points_adjust
from shared_events.kit.epochs import epoch_at, epoch_start

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(delegator) -> LedgerEntry:
    return LedgerEntry.objects.get(account=delegator, kind=LedgerEntry.Kind.INITIAL_GRANT)


def snapshot() -> list[tuple]:
    return list(
        LedgerEntry.objects.order_by("id").values_list(
            "id", "account_id", "kind", "delta", "balance_after", "epoch", "reason"
        )
    )


def test_entries_are_created_by_every_writer(delegator, operator):
    # account_register: the welcome grant (create()).
    assert LedgerEntry.objects.filter(account=delegator, kind="initial_grant").count() == 1
    # points_adjust: an operator's correction (create()).
    adjusted = points_adjust(account=delegator, delta=-5, reason="typo", by=operator)
    assert adjusted.pk is not None
    # accrual: bulk_create.
    epoch = epoch_at(delegator.date_joined)
    assert accrue_epoch_points(now=epoch_start(epoch + 2) + timedelta(seconds=1)).entries == 2
    delegator.refresh_from_db()
    kinds = sorted(LedgerEntry.objects.filter(account=delegator).values_list("kind", flat=True))
    assert kinds == ["adjustment", "epoch_accrual", "epoch_accrual", "initial_grant"]
    assert LedgerEntry.objects.filter(account=delegator).order_by("-id")[0].balance_after == (
        delegator.points
    )
    # A plain save() of a new entry too.
    LedgerEntry(
        account=delegator,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        delta=1,
        balance_after=delegator.points + 1,
        reason="direct",
    ).save()
    assert LedgerEntry.objects.filter(account=delegator, reason="direct").exists()


def test_saving_an_existing_entry_is_refused(entry):
    before = snapshot()
    entry.delta = 1_000_000
    with pytest.raises(LedgerAppendOnlyError, match="append-only"):
        entry.save()
    with pytest.raises(LedgerAppendOnlyError):
        entry.save(update_fields=["delta"])
    fetched = LedgerEntry.objects.get(pk=entry.pk)
    with pytest.raises(LedgerAppendOnlyError):
        fetched.save()
    assert snapshot() == before


def test_a_new_instance_with_an_existing_entrys_pk_does_not_overwrite_it(entry):
    before = snapshot()
    impostor = LedgerEntry(
        pk=entry.pk,
        account=entry.account,
        kind=entry.kind,
        delta=999,
        balance_after=999,
        reason="overwritten",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        impostor.save()
    assert snapshot() == before


def test_update_or_create_of_an_existing_entry_is_refused(entry):
    before = snapshot()
    with pytest.raises(LedgerAppendOnlyError):
        LedgerEntry.objects.update_or_create(pk=entry.pk, defaults={"delta": 7})
    assert snapshot() == before


def test_deleting_an_entry_is_refused(entry):
    before = snapshot()
    with pytest.raises(LedgerAppendOnlyError, match="append-only"):
        entry.delete()
    assert snapshot() == before


@pytest.mark.parametrize(
    "write",
    [
        lambda qs: qs.update(delta=0),
        lambda qs: qs.delete(),
        lambda qs: qs.bulk_update(list(qs), ["delta"]),
    ],
    ids=["update", "delete", "bulk_update"],
)
def test_bulk_changes_through_the_manager_are_refused(delegator, entry, write):
    before = snapshot()
    querysets = [
        LedgerEntry.objects.all(),
        LedgerEntry.objects.filter(account=delegator),
        LedgerEntry._default_manager.all(),
        delegator.ledger.all(),  # the related manager
    ]
    for queryset in querysets:
        with pytest.raises(LedgerAppendOnlyError):
            write(queryset)
    # Even when nothing would match: the call itself is the mistake.
    with pytest.raises(LedgerAppendOnlyError):
        write(LedgerEntry.objects.none())
    assert snapshot() == before


def test_manager_shortcuts_on_the_related_manager_are_refused(delegator, entry):
    before = snapshot()
    with pytest.raises(LedgerAppendOnlyError):
        delegator.ledger.update(delta=0)
    with pytest.raises(LedgerAppendOnlyError):
        delegator.ledger.all().delete()
    assert snapshot() == before


def test_a_collected_deletion_as_in_a_cascade_is_refused(entry):
    """A cascade deletes rows without Model.delete(); the pre_delete guard refuses it, and with
    a receiver connected Django never takes the fast (signal-less) path."""
    before = snapshot()
    collector = Collector(using="default")
    assert not collector.can_fast_delete(LedgerEntry.objects.all())
    collector.collect([entry])
    with pytest.raises(LedgerAppendOnlyError), transaction.atomic():
        collector.delete()
    assert snapshot() == before


def test_an_account_with_a_ledger_cannot_be_deleted(delegator, operator):
    """Accounts are deactivated, never deleted; a deletion anyway is refused before anything
    goes (the ledger's foreign keys PROTECT), both for the owner and for who made an entry."""
    other = Account.objects.create_user(email="x@example.org", password=PASSWORD)
    points_adjust(account=other, delta=1, reason="thanks", by=operator)
    before = snapshot()
    with pytest.raises(ProtectedError):
        delegator.delete()
    with pytest.raises(ProtectedError):
        Account.objects.filter(pk=operator.pk).delete()  # created_by of the adjustment
    assert Account.objects.filter(pk__in=[delegator.pk, operator.pk]).count() == 2
    assert snapshot() == before


def test_the_admin_adds_a_row_beside_the_existing_read_only_ones(
    client, delegator, operator, entry
):
    """The change form as a browser posts it, with the existing entry as an initial form: the
    new row becomes an entry; the existing one is neither saved nor deleted."""
    assert client.login(email=operator.email, password=PASSWORD)
    before = snapshot()
    response = client.post(
        f"/accounts/admin/accounts/account/{delegator.pk}/change/",
        {
            "email": delegator.email,
            "role": "delegator",
            "stake_address": "",
            "is_active": "on",
            "ledger-TOTAL_FORMS": "2",
            "ledger-INITIAL_FORMS": "1",
            "ledger-MIN_NUM_FORMS": "0",
            "ledger-MAX_NUM_FORMS": "1000",
            "ledger-0-id": str(entry.pk),
            "ledger-0-account": str(delegator.pk),
            "ledger-0-delta": "555",
            "ledger-0-reason": "tampered",
            "ledger-1-delta": "3",
            "ledger-1-reason": "helped out",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    after = snapshot()
    assert after[: len(before)] == before
    [added] = after[len(before) :]
    assert added[2:4] == ("adjustment", 3)
