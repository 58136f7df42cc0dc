"""Proofs of stake addresses in the services: what a proof changes and publishes, what a
refused one leaves, wallet accounts, and the purge of old challenges."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Account, LedgerEntry, StakeAddressChallenge
from accounts.services import (
    stake_address_challenge_issue,
    stake_address_prove,
    stake_address_unlink,
    stake_challenges_purge_expired,
    wallet_challenge_issue,
    wallet_sign_in,
)
from accounts.tests.cip30_wallet import Wallet

from ..conftest import last_event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _on_mainnet(settings):
    settings.CARDANO_NETWORK = "mainnet"


def prove(account, wallet, domain="vote.example.org"):
    challenge = stake_address_challenge_issue(account=account, domain=domain)
    return stake_address_prove(
        account=account, challenge_id=challenge.id, **wallet.sign_data(challenge.payload.hex())
    )


def test_a_proof_sets_the_address_with_its_time_and_publishes_it(delegator):
    wallet = Wallet()
    before = timezone.now()
    account = prove(delegator, wallet)
    assert account.stake_address == wallet.stake_address
    assert before <= account.stake_address_verified_at <= timezone.now()
    assert last_event(account)["data"]["stake_address"] == wallet.stake_address
    assert StakeAddressChallenge.objects.get(account=delegator).used_at is not None


def test_a_refused_proof_changes_nothing_and_leaves_the_challenge_for_another_try(delegator):
    challenge = stake_address_challenge_issue(account=delegator, domain="d.example")
    version = Account.objects.get(pk=delegator.pk).version
    proof = Wallet().sign_data(challenge.payload.hex())
    with pytest.raises(ValidationError) as refused:
        stake_address_prove(
            account=delegator,
            challenge_id=challenge.id,
            signature=proof["signature"],
            key=Wallet().sign_data("00")["key"],
        )
    assert refused.value.message_dict.keys() == {"key"}
    assert refused.value.error_dict["key"][0].code == "other_key"
    delegator.refresh_from_db()
    assert (delegator.stake_address, delegator.version) == (None, version)
    assert stake_address_prove(account=delegator, challenge_id=challenge.id, **proof)


def test_an_unproven_address_is_not_published(delegator):
    # An address typed in before proofs existed stays on the row but counts for nothing.
    Account.objects.filter(pk=delegator.pk).update(stake_address=Wallet().stake_address)
    delegator.refresh_from_db()
    assert last_event(delegator)["data"]["stake_address"] is None
    assert delegator.event_state().stake_address is None


def test_unlinking_clears_the_address_and_its_proof(delegator):
    prove(delegator, Wallet())
    account = stake_address_unlink(account=delegator)
    assert (account.stake_address, account.stake_address_verified_at) == (None, None)
    assert last_event(account)["data"]["stake_address"] is None


def test_a_wallet_sign_in_makes_a_delegator_with_the_welcome_grant(settings):
    settings.POINTS_INITIAL_GRANT = 100
    wallet = Wallet()
    challenge = wallet_challenge_issue(
        stake_address=wallet.stake_address.upper(), domain="d.example"
    )
    assert challenge.stake_address == wallet.stake_address
    account = wallet_sign_in(challenge_id=challenge.id, **wallet.sign_data(challenge.payload.hex()))
    assert (account.email, account.stake_address, account.points, account.role) == (
        None,
        wallet.stake_address,
        100,
        "delegator",
    )
    assert not account.has_usable_password()
    assert str(account) == wallet.stake_address
    [grant] = LedgerEntry.objects.filter(account=account)
    assert grant.kind == "initial_grant"
    assert last_event(account)["type"] == "accounts.account.created"


def test_expired_challenges_are_purged():
    wallet = Wallet()
    old = wallet_challenge_issue(stake_address=wallet.stake_address, domain="d.example")
    fresh = wallet_challenge_issue(stake_address=wallet.stake_address, domain="d.example")
    StakeAddressChallenge.objects.filter(pk=old.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert stake_challenges_purge_expired() == 1
    assert list(StakeAddressChallenge.objects.values_list("pk", flat=True)) == [fresh.pk]
