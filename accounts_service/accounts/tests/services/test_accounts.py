import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Account, LedgerEntry, Role
from accounts.services import (
    account_change_password,
    account_change_standing,
    account_register,
    account_register_with_wallet,
    account_set_active,
    account_update_profile,
    stake_address_unlink,
)
from shared_events.core.outbox.models import OutboxEvent

from ..conftest import PASSWORD, last_event

pytestmark = pytest.mark.django_db
STAKE = "stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw"


def test_registration_normalizes_grants_points_and_publishes_no_private_data(settings):
    settings.POINTS_INITIAL_GRANT = 100
    account = account_register(email="  Alice@Example.ORG ", password=PASSWORD)
    assert (account.email, account.stake_address, account.points) == (
        "alice@example.org",
        None,
        100,
    )
    assert account.check_password(PASSWORD)
    [grant] = LedgerEntry.objects.filter(account=account)
    assert (grant.kind, grant.delta, grant.balance_after) == ("initial_grant", 100, 100)
    event = last_event(account)
    assert event["type"] == "accounts.account.created"
    assert event["data"] == {
        "id": str(account.pk),
        "role": "delegator",
        "is_active": True,
        "points": 100,
        "stake_address": None,
        "joined_at": account.date_joined.isoformat(),
        "deleted": False,
    }


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"email": "not-an-email"}, None),
        ({"email": "ok@example.org", "password": "short"}, "password"),
        ({"email": "ok@example.org", "password": "password123"}, "password"),
    ],
)
def test_bad_registrations_are_refused(kwargs, field):
    kwargs.setdefault("password", PASSWORD)
    with pytest.raises(ValidationError):
        account_register(**kwargs)
    assert not Account.objects.exists()


def test_email_is_unique_case_insensitively():
    # One account per stake address: services/test_stake_proofs.py (a proof moves it).
    account_register(email="a@example.org", password=PASSWORD)
    with pytest.raises(ValidationError) as email_taken:
        account_register(email="A@EXAMPLE.org", password=PASSWORD)
    assert "email" in email_taken.value.message_dict


def test_deactivation_is_published_and_ends_sessions(delegator):
    from accounts.models import RefreshToken
    from accounts.services import token_pair_issue

    token_pair_issue(account=delegator)
    account_set_active(account=delegator, is_active=False)
    assert last_event(delegator)["data"]["is_active"] is False
    assert not RefreshToken.objects.filter(account=delegator, revoked_at__isnull=True).exists()


def test_profile_changes_publish_only_when_published_fields_change(delegator):
    versions = OutboxEvent.objects.filter(aggregate_id=str(delegator.pk)).count()
    account_update_profile(account=delegator, email="new@example.org")  # email is private
    delegator.refresh_from_db()
    assert delegator.email == "new@example.org"
    assert OutboxEvent.objects.filter(aggregate_id=str(delegator.pk)).count() == versions
    # A proven stake address is published (proofs: services/test_stake_proofs.py), and so is
    # its holder's unlinking it.
    Account.objects.filter(pk=delegator.pk).update(
        stake_address=STAKE, stake_address_verified_at=timezone.now()
    )
    assert last_event(delegator)["data"]["stake_address"] == STAKE
    stake_address_unlink(account=delegator)
    assert last_event(delegator)["data"]["stake_address"] is None


def test_operators_are_staff_in_the_admin_and_delegators_are_not(delegator, operator):
    assert operator.role == Role.OPERATOR and operator.is_staff and operator.has_perm("x.y")
    assert not delegator.is_staff and not delegator.has_perm("x.y")
    account_set_active(account=operator, is_active=False)
    operator.refresh_from_db()
    assert not operator.is_staff


def test_an_operator_changes_anothers_standing_but_never_demotes_themselves(delegator, operator):
    account = account_change_standing(
        account=delegator, by=operator, role=Role.OPERATOR, is_active=False
    )
    assert (account.role, account.is_active) == (Role.OPERATOR, False)
    assert last_event(delegator)["data"]["role"] == "operator"
    for change in ({"is_active": False}, {"role": Role.DELEGATOR}):
        with pytest.raises(ValidationError, match="cannot demote or deactivate themselves"):
            account_change_standing(account=operator, by=operator, **change)
    operator.refresh_from_db()
    assert (operator.role, operator.is_active) == (Role.OPERATOR, True)
    assert (
        account_change_standing(account=operator, by=operator, is_active=True, role=Role.OPERATOR)
        == operator
    )


def test_a_password_change_needs_the_current_one_unless_there_is_none_yet(delegator):
    with pytest.raises(ValidationError) as missing:
        account_change_password(account=delegator, current_password=None, new_password="x" * 12)
    assert "current_password" in missing.value.message_dict
    with pytest.raises(ValidationError) as wrong:
        account_change_password(account=delegator, current_password="no", new_password="x" * 12)
    assert wrong.value.message_dict == {"current_password": ["Wrong password."]}
    wallet_made = account_register_with_wallet(
        stake_address="stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw",
        verified_at=timezone.now(),
    )
    assert not wallet_made.has_usable_password()
    with pytest.raises(ValidationError) as weak:
        account_change_password(account=wallet_made, current_password=None, new_password="123")
    assert "password" in weak.value.message_dict  # the validators still apply
    with pytest.raises(ValidationError) as no_email:
        account_change_password(
            account=wallet_made, current_password=None, new_password="a first good secret"
        )
    assert "Add an email first" in no_email.value.message_dict["password"][0]
    wallet_made = account_update_profile(account=wallet_made, email="wallet-owner@example.org")
    changed = account_change_password(
        account=wallet_made, current_password=None, new_password="a first good secret"
    )
    assert changed.check_password("a first good secret")
