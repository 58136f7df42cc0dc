"""Proofs of stake addresses: the challenges a delegator signs with a stake key, and what a valid
signature does: link the address to the signed-in account, or sign its holder in (making the
account on first use).

One account per stake address: a proof moves the address away from any account that had it.
A challenge is used by its first valid proof; a refused proof leaves it for another try until
it expires (the throttles bound the tries)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from shared_events.kit.errors import Refused

from ..chain.stake_proof import (
    StakeProofError,
    build_link_challenge,
    build_sign_in_challenge,
    check_signing_address,
    verify_stake_proof,
)
from ..models import Account, StakeAddressChallenge
from ..stake_address import normalize_stake_address
from .accounts import _on_field, _save_unique, account_register_with_wallet

Purpose = StakeAddressChallenge.Purpose


def _expiry() -> datetime:
    return timezone.now() + timedelta(seconds=settings.STAKE_PROOF_CHALLENGE_TTL_SECONDS)


def stake_address_challenge_issue(*, account: Account, domain: str) -> StakeAddressChallenge:
    """A challenge whose signature links the signer's stake address to `account`."""
    expires_at = _expiry()
    text = build_link_challenge(
        domain=domain, account=account.email or str(account.id), expires_at=expires_at
    ).text
    return StakeAddressChallenge.objects.create(
        purpose=Purpose.LINK, account=account, text=text, expires_at=expires_at
    )


def wallet_challenge_issue(*, stake_address: str, domain: str) -> StakeAddressChallenge:
    """A challenge whose signature by the key of `stake_address` signs its holder in."""
    address = _on_field("stake_address", normalize_stake_address, stake_address)
    try:
        check_signing_address(address, network=settings.CARDANO_NETWORK)
    except StakeProofError as refused:
        raise _field_error(refused) from None
    expires_at = _expiry()
    text = build_sign_in_challenge(domain=domain, stake_address=address, expires_at=expires_at).text
    return StakeAddressChallenge.objects.create(
        purpose=Purpose.SIGN_IN, stake_address=address, text=text, expires_at=expires_at
    )


@transaction.atomic
def stake_address_prove(
    *, account: Account, challenge_id: UUID, signature: str, key: str
) -> Account:
    """Link the stake address that signed `account`'s challenge to `account`, unlinking it from
    any other account, and publish the change."""
    challenge = _challenge_to_answer(challenge_id, purpose=Purpose.LINK, account=account)
    address = _proven_address(challenge, signature=signature, key=key)
    now = timezone.now()
    _unlink_from_others(address, keep=account)
    account = Account.objects.select_for_update().get(pk=account.pk)
    account.stake_address, account.stake_address_verified_at = address, now
    _save_unique(
        account, update_fields=["stake_address", "stake_address_verified_at", "updated_at"]
    )
    _mark_used(challenge, now)
    return account


@transaction.atomic
def wallet_sign_in(*, challenge_id: UUID, signature: str, key: str) -> Account:
    """The account of the stake address that signed this sign-in challenge, made on first use
    (no email, no password; both may be added later)."""
    challenge = _challenge_to_answer(challenge_id, purpose=Purpose.SIGN_IN)
    address = _proven_address(challenge, signature=signature, key=key)
    now = timezone.now()
    _mark_used(challenge, now)
    holder = (
        Account.objects.select_for_update()
        .filter(stake_address=address, stake_address_verified_at__isnull=False)
        .first()
    )
    if holder is not None:
        if not holder.is_active:
            raise Refused("The account of this stake address is deactivated.")
        return holder
    # Whoever typed this address in before proofs existed gives way to the key's holder.
    _unlink_from_others(address, keep=None)
    return account_register_with_wallet(stake_address=address, verified_at=now)


@transaction.atomic
def stake_address_unlink(*, account: Account) -> Account:
    """The account holder gives up their stake address (a new proof links one again)."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    if account.stake_address is not None or account.stake_address_verified_at is not None:
        account.stake_address = account.stake_address_verified_at = None
        account.save(update_fields=["stake_address", "stake_address_verified_at", "updated_at"])
    return account


def stake_challenges_purge_expired() -> int:
    deleted, _ = StakeAddressChallenge.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted


def _challenge_to_answer(
    challenge_id: UUID, *, purpose: str, account: Account | None = None
) -> StakeAddressChallenge:
    # Locked, so that two proofs sent at once cannot both use it.
    challenge = (
        StakeAddressChallenge.objects.select_for_update()
        .filter(pk=challenge_id, purpose=purpose, account=account)
        .first()
    )
    if challenge is None:
        raise ValidationError(
            {
                "challenge_id": [
                    ValidationError("No such challenge: ask for a new one.", code="unknown")
                ]
            }
        )
    if challenge.used_at is not None:
        raise ValidationError(
            {
                "challenge_id": [
                    ValidationError(
                        "This challenge was used already: ask for a new one.", code="used"
                    )
                ]
            }
        )
    if challenge.expires_at <= timezone.now():
        raise ValidationError(
            {
                "challenge_id": [
                    ValidationError(
                        f"This challenge expired at {challenge.expires_at.isoformat()}: "
                        "ask for a new one.",
                        code="expired",
                    )
                ]
            }
        )
    return challenge


def _proven_address(challenge: StakeAddressChallenge, *, signature: str, key: str) -> str:
    try:
        return verify_stake_proof(
            signature=signature,
            key=key,
            payload=challenge.payload,
            network=settings.CARDANO_NETWORK,
            stake_address=challenge.stake_address or None,
        )
    except StakeProofError as refused:
        raise _field_error(refused) from None


def _field_error(refused: StakeProofError) -> ValidationError:
    return ValidationError({refused.field: [ValidationError(refused.message, code=refused.code)]})


def _unlink_from_others(address: str, *, keep: Account | None) -> None:
    others = Account.objects.select_for_update().filter(stake_address=address)
    if keep is not None:
        others = others.exclude(pk=keep.pk)
    for other in others:
        other.stake_address = other.stake_address_verified_at = None
        other.save(update_fields=["stake_address", "stake_address_verified_at", "updated_at"])


def _mark_used(challenge: StakeAddressChallenge, when: datetime) -> None:
    challenge.used_at = when
    challenge.save(update_fields=["used_at"])
