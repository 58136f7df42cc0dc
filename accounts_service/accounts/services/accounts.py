"""Registering accounts and changing them: profile, password, active flag, role."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from shared_events.kit.epochs import epoch_at

from ..models import Account, LedgerEntry, Role
from .tokens import refresh_tokens_revoke_all


def _on_field(field: str, func, *args, **kwargs):
    """Run a validator and file its complaint under the field it is about."""
    try:
        return func(*args, **kwargs)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise
        raise ValidationError({field: exc.messages}) from None


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    _on_field("email", validate_email, email)
    return email


def _check_unique(*, email: str | None, stake_address: str | None, exclude: Account | None) -> None:
    others = Account.objects.exclude(pk=exclude.pk) if exclude else Account.objects.all()
    errors = {}
    if email and others.filter(email__iexact=email).exists():
        errors["email"] = ["An account with this email already exists."]
    if stake_address and others.filter(stake_address=stake_address).exists():
        errors["stake_address"] = ["This stake address belongs to another account."]
    if errors:
        raise ValidationError(errors)


def _save_unique(account: Account, **kwargs) -> None:
    try:
        with transaction.atomic():
            account.save(**kwargs)
    except IntegrityError:
        # Lost a race with another registration: report it like the check above would.
        _check_unique(email=account.email, stake_address=account.stake_address, exclude=account)
        raise


@transaction.atomic
def account_register(*, email: str, password: str | None, role: str = Role.DELEGATOR) -> Account:
    email = normalize_email(email)
    _check_unique(email=email, stake_address=None, exclude=None)
    account = Account(email=email, role=role)
    if password is None:
        account.set_unusable_password()
    else:
        _on_field("password", validate_password, password, user=account)
        account.set_password(password)
    return _account_create(account)


@transaction.atomic
def account_register_with_wallet(*, stake_address: str, verified_at: datetime) -> Account:
    """A delegator's account made by a proof of their stake address (services/stake_proofs.py):
    no email and no password, which its holder may add later."""
    account = Account(
        stake_address=stake_address, stake_address_verified_at=verified_at, role=Role.DELEGATOR
    )
    account.set_unusable_password()
    return _account_create(account)


def _account_create(account: Account) -> Account:
    grant = getattr(settings, "POINTS_INITIAL_GRANT", 0) if account.role == Role.DELEGATOR else 0
    account.points = grant
    # The epoch one joins in is not owed: accrual starts with the next one.
    account.accrued_through_epoch = epoch_at(account.date_joined)
    _save_unique(account)
    if grant:
        LedgerEntry.objects.create(
            account=account,
            kind=LedgerEntry.Kind.INITIAL_GRANT,
            delta=grant,
            balance_after=grant,
            reason="welcome grant",
        )
    return account


@transaction.atomic
def operator_create(*, email: str, password: str | None) -> Account:
    return account_register(email=email, password=password, role=Role.OPERATOR)


@transaction.atomic
def account_update_profile(*, account: Account, email: str | None = None) -> Account:
    """Change what an account holder may change about themselves directly. Not the stake
    address: only a proof sets it (services/stake_proofs.py)."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    changed = ["updated_at"]
    if email is not None:
        account.email = normalize_email(email)
        changed.append("email")
    _check_unique(email=account.email, stake_address=None, exclude=account)
    # Only what changed: an email change is private to accounts and publishes nothing.
    _save_unique(account, update_fields=changed)
    return account


@transaction.atomic
def account_change_password(
    *, account: Account, current_password: str | None, new_password: str
) -> Account:
    """Change the password, given the current one; other sessions end with it. An account with
    no usable password (made by a wallet sign-in, or an operator created without one) sets its
    first password without `current_password`, once it has an email to sign in with."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    had_password = account.has_usable_password()
    if had_password:
        if current_password is None:
            raise ValidationError(
                {"current_password": ["Give your current password to set a new one."]}
            )
        if not account.check_password(current_password):
            raise ValidationError({"current_password": ["Wrong password."]})
    else:
        if current_password is not None:
            raise ValidationError(
                {
                    "current_password": [
                        "This account has no password yet; leave current_password out to set "
                        "its first one."
                    ]
                }
            )
        if not account.email:
            raise ValidationError(
                {
                    "password": [
                        "Add an email first (or in the same request): a password signs in "
                        "with the account's email."
                    ]
                }
            )
    _on_field("password", validate_password, new_password, user=account)
    account.set_password(new_password)
    account.save(update_fields=["password", "updated_at"])
    if had_password:
        refresh_tokens_revoke_all(account=account)  # other sessions end with the old password
    return account


@transaction.atomic
def account_set_active(*, account: Account, is_active: bool) -> Account:
    account = Account.objects.select_for_update().get(pk=account.pk)
    if account.is_active != is_active:
        account.is_active = is_active
        account.save(update_fields=["is_active", "updated_at"])
        if not is_active:
            refresh_tokens_revoke_all(account=account)
    return account


@transaction.atomic
def account_set_role(*, account: Account, role: str) -> Account:
    if role not in Role.values:
        raise ValidationError({"role": [f"Unknown role {role!r}."]})
    account = Account.objects.select_for_update().get(pk=account.pk)
    if account.role != role:
        account.role = role
        account.save(update_fields=["role", "updated_at"])
    return account


@transaction.atomic
def account_change_standing(
    *, account: Account, by: Account, is_active: bool | None = None, role: str | None = None
) -> Account:
    """An operator activates, deactivates or changes the role of an account. Never their own
    demotion or deactivation, so nobody locks themselves out by a slip: another operator can."""
    if account.pk == by.pk and (is_active is False or role not in (None, Role.OPERATOR)):
        raise ValidationError(
            {"non_field_errors": ["Operators cannot demote or deactivate themselves."]}
        )
    if is_active is not None:
        account = account_set_active(account=account, is_active=is_active)
    if role is not None:
        account = account_set_role(account=account, role=role)
    return account
