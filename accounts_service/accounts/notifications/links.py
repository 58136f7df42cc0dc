"""The signed links in the mail (Django's signing, keyed by SECRET_KEY): confirming an email
address (expires) and one-click unsubscribing from one kind (does not: it must work from any
message ever sent, RFC 8058)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

_CONFIRM_SALT = "accounts.notifications.confirm-email"
_UNSUBSCRIBE_SALT = "accounts.notifications.unsubscribe"


class LinkInvalid(Exception):
    """The token was altered, made with another key, or has expired."""


@dataclass(frozen=True)
class ConfirmClaim:
    account_id: uuid.UUID
    email: str


@dataclass(frozen=True)
class UnsubscribeClaim:
    account_id: uuid.UUID
    kind: str


def confirm_token(*, account_id: uuid.UUID, email: str) -> str:
    return signing.dumps({"a": str(account_id), "e": email}, salt=_CONFIRM_SALT, compress=True)


def confirm_token_read(token: str) -> ConfirmClaim:
    try:
        claim = signing.loads(
            token, salt=_CONFIRM_SALT, max_age=settings.NOTIFY_CONFIRM_MAX_AGE_SECONDS
        )
    except signing.SignatureExpired as exc:
        raise LinkInvalid("This confirmation link has expired; ask for a new one.") from exc
    except signing.BadSignature as exc:
        raise LinkInvalid("This confirmation link is not valid.") from exc
    return ConfirmClaim(account_id=uuid.UUID(claim["a"]), email=claim["e"])


def unsubscribe_token(*, account_id: uuid.UUID, kind: str) -> str:
    return signing.dumps({"a": str(account_id), "k": kind}, salt=_UNSUBSCRIBE_SALT)


def unsubscribe_token_read(token: str) -> UnsubscribeClaim:
    try:
        claim = signing.loads(token, salt=_UNSUBSCRIBE_SALT)
    except signing.BadSignature as exc:
        raise LinkInvalid("This unsubscribe link is not valid.") from exc
    return UnsubscribeClaim(account_id=uuid.UUID(claim["a"]), kind=claim["k"])


# Where a service is when its <SERVICE>_PUBLIC_URL is not set (`manage_all.py up` sets them).
_LOCAL = {"accounts": "http://127.0.0.1:8001", "polls": "http://127.0.0.1:8002"}


def service_url(service: str, path: str) -> str:
    """An absolute link to `path` under a service's prefix, on its public URL
    (<SERVICE>_PUBLIC_URL: https in production)."""
    base = (settings.SERVICE_PUBLIC_URLS.get(service) or _LOCAL[service]).rstrip("/")
    return f"{base}/{service}/{path.lstrip('/')}"


def public_url(path: str) -> str:
    """An absolute link to accounts' `path`."""
    return service_url("accounts", path)
