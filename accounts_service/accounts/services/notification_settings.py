"""A delegator's notification choices: confirming the address they go to, opting in and out
per kind, and the one-click unsubscribe of the messages."""

from __future__ import annotations

import logging
import uuid

from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone

from shared_events.kit.errors import Conflict, Refused

from ..models import Account, NoticeKind, NotificationSettings, Role
from ..notifications import links, mail, queue

logger = logging.getLogger(__name__)

KINDS = tuple(NoticeKind.values)


def notification_settings_of(*, account: Account) -> NotificationSettings:
    """The account's settings, all off and unconfirmed until first changed (not saved)."""
    found = NotificationSettings.objects.filter(account=account).first()
    return found or NotificationSettings(account=account)


def email_confirmed(*, account: Account, settings: NotificationSettings) -> bool:
    return bool(account.email) and settings.confirmed_email == account.email


@transaction.atomic
def notification_settings_update(*, account: Account, **kinds: bool) -> NotificationSettings:
    """Turn kinds on or off. Turning one on needs a confirmed address (a changed address must
    be confirmed again)."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown notification kinds {sorted(unknown)}")
    settings, _ = NotificationSettings.objects.select_for_update().get_or_create(account=account)
    if any(kinds.values()) and not email_confirmed(account=account, settings=settings):
        raise Conflict(
            "Confirm your email address first: POST /accounts/api/me/notifications/confirm-email/"
            " sends the link."
        )
    for kind, on in kinds.items():
        setattr(settings, kind, on)
    settings.save()
    return settings


def email_confirmation_request(*, account: Account) -> str:
    """Send a link that confirms the account's current address. Returns the address."""
    if account.role != Role.DELEGATOR:
        raise Refused("Notifications are for delegators.")
    if not account.email:
        raise Conflict("Your account has no email address: set one first (PATCH me/).")
    with transaction.atomic():
        queue.confirmation_send_on_commit(account.pk, account.email)
    return account.email


def email_confirmation_send(*, account_id: uuid.UUID, email: str) -> bool:
    """Send the confirmation message, unless the account's address changed meanwhile (a task;
    SMTP errors propagate, for its retries). Returns whether it was sent."""
    account = Account.objects.filter(pk=account_id, email=email).first()
    if account is None:
        return False
    with get_connection() as connection:
        connection.send_messages([mail.confirm_message(to=email, account_id=account.pk)])
    return True


@transaction.atomic
def email_confirm(*, token: str) -> NotificationSettings:
    """Mark the address the link was sent to as confirmed, if it is still the account's."""
    try:
        claim = links.confirm_token_read(token)
    except links.LinkInvalid as exc:
        raise Conflict(str(exc)) from exc
    account = Account.objects.filter(pk=claim.account_id).first()
    if account is None or not account.is_active:
        raise Conflict("This confirmation link is for an account that is gone.")
    if account.email != claim.email:
        raise Conflict("Your email address changed since this link was sent; ask for a new one.")
    settings, _ = NotificationSettings.objects.select_for_update().get_or_create(account=account)
    if settings.confirmed_email != claim.email:
        settings.confirmed_email, settings.confirmed_at = claim.email, timezone.now()
        settings.save()
    return settings


@transaction.atomic
def notifications_unsubscribe(*, token: str) -> tuple[Account, str]:
    """One click: turn off the kind the message was of. Repeating it changes nothing."""
    try:
        claim = links.unsubscribe_token_read(token)
    except links.LinkInvalid as exc:
        raise Conflict(str(exc)) from exc
    account = Account.objects.filter(pk=claim.account_id).first()
    if account is None or claim.kind not in KINDS:
        raise Conflict("This unsubscribe link is for an account or a kind that is gone.")
    NotificationSettings.objects.filter(account=account).update(
        **{claim.kind: False}, updated_at=timezone.now()
    )
    return account, claim.kind
