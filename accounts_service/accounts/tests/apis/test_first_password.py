"""An account made by a wallet sign-in has no password: `PATCH me/` adds an email and sets a
first password without `current_password`, and the account then signs in with them. Once it
has a password, changing it needs the current one again."""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import Account, RefreshToken
from accounts.tests.cip30_wallet import Wallet

from ..conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db
ME = "/accounts/api/me/"
NEW = "a first passphrase of mine"


@pytest.fixture
def wallet_account(api) -> APIClient:
    """A client signed in by a wallet alone (real CIP-8 signature), the account made so."""
    wallet = Wallet()
    with override_settings(CARDANO_NETWORK="mainnet", STAKE_PROOF_DOMAIN=""):
        challenge = api.post(
            "/accounts/api/wallet/challenge/",
            {"stake_address": wallet.stake_address},
            format="json",
        ).json()
        signed = wallet.sign_data(challenge["payload_hex"])
        tokens = api.post(
            "/accounts/api/wallet/token/",
            {"challenge_id": challenge["challenge_id"], **signed},
            format="json",
        )
    assert tokens.status_code == 200, tokens.content
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    return api


def me(client) -> Account:
    return Account.objects.get(pk=client.get(ME).json()["id"])


def test_a_wallet_account_adds_an_email_and_a_first_password_then_signs_in_with_them(
    wallet_account,
):
    account = me(wallet_account)
    assert not account.has_usable_password() and account.email is None
    sessions = RefreshToken.objects.filter(account=account, revoked_at__isnull=True).count()
    changed = wallet_account.patch(
        ME, {"email": "Wally@Example.org", "password": NEW}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["email"] == "wally@example.org"
    tokens = sign_in(APIClient(), "wally@example.org", NEW)
    assert set(tokens) >= {"access", "refresh"}
    # Nothing was taken over: the wallet's own session goes on.
    assert RefreshToken.objects.filter(account=account, revoked_at__isnull=True).count() == (
        sessions + 1
    )


def test_the_email_may_come_first_and_the_password_later(wallet_account):
    assert wallet_account.patch(ME, {"email": "later@example.org"}, format="json").status_code == (
        200
    )
    assert wallet_account.patch(ME, {"password": NEW}, format="json").status_code == 200
    sign_in(APIClient(), "later@example.org", NEW)


def test_a_first_password_needs_an_email_to_sign_in_with(wallet_account):
    refused = wallet_account.patch(ME, {"password": NEW}, format="json")
    assert refused.status_code == 400
    assert "Add an email first" in refused.json()["password"][0]
    assert not me(wallet_account).has_usable_password()


def test_a_weak_first_password_is_refused_and_the_email_with_it(wallet_account):
    refused = wallet_account.patch(
        ME, {"email": "weak@example.org", "password": "password"}, format="json"
    )
    assert refused.status_code == 400 and "password" in refused.json()
    account = me(wallet_account)
    assert (account.email, account.has_usable_password()) == (None, False)


def test_a_current_password_for_an_account_without_one_is_refused(wallet_account):
    refused = wallet_account.patch(
        ME,
        {"email": "w@example.org", "password": NEW, "current_password": "a guess"},
        format="json",
    )
    assert refused.status_code == 400
    assert "no password yet" in refused.json()["current_password"][0]


def test_after_the_first_password_a_change_needs_it(wallet_account):
    assert (
        wallet_account.patch(ME, {"email": "w2@example.org", "password": NEW}, format="json")
    ).status_code == 200
    again = wallet_account.patch(ME, {"password": "another passphrase here"}, format="json")
    assert again.status_code == 400
    assert again.json()["current_password"] == ["Give your current password to set a new one."]
    ok = wallet_account.patch(
        ME, {"password": "another passphrase here", "current_password": NEW}, format="json"
    )
    assert ok.status_code == 200
    sign_in(APIClient(), "w2@example.org", "another passphrase here")


def test_an_account_with_a_password_still_needs_the_current_one(as_delegator, delegator):
    refused = as_delegator.patch(ME, {"password": NEW}, format="json")
    assert refused.status_code == 400 and "current_password" in refused.json()
    delegator.refresh_from_db()
    assert delegator.check_password(PASSWORD)


def test_a_current_password_alone_is_refused(as_delegator):
    refused = as_delegator.patch(ME, {"current_password": PASSWORD}, format="json")
    assert refused.status_code == 400 and "password" in refused.json()
