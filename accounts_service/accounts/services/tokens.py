"""Issuing, rotating and revoking JWTs. Only this service signs; everyone verifies with the
public key (shared_events.kit.identity)."""

from __future__ import annotations

import functools
import uuid
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.contrib.auth.models import update_last_login
from django.db import transaction
from django.utils import timezone

from shared_events.kit.identity.tokens import (
    ACCESS,
    ADMIN_SSO,
    ALGORITHM,
    REFRESH,
    InvalidToken,
    verify_token,
)

from ..models import Account, RefreshToken


@functools.lru_cache(maxsize=4)
def _signing_key(pem: str) -> Any:
    # Parsed once per process: loading the key (its consistency checks) costs far more CPU
    # than signing with it.
    return serialization.load_pem_private_key(pem.encode(), password=None)


def _encode(
    account: Account, token_type: str, ttl: int, jti: str, **extra: object
) -> tuple[str, int]:
    now = int(timezone.now().timestamp())
    payload = {
        **extra,
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "sub": str(account.id),
        "role": account.role,
        "typ": token_type,
        "jti": jti,
        "iat": now,
        "exp": now + ttl,
    }
    token = jwt.encode(
        payload,
        _signing_key(settings.JWT_SIGNING_KEY),
        algorithm=ALGORITHM,
        headers={"kid": settings.JWT_SIGNING_KEY_ID},
    )
    return token, now + ttl


@transaction.atomic
def token_pair_issue(*, account: Account) -> dict[str, object]:
    access, access_exp = _encode(account, ACCESS, settings.JWT_ACCESS_TTL_SECONDS, uuid.uuid4().hex)
    jti = uuid.uuid4().hex
    refresh, refresh_exp = _encode(account, REFRESH, settings.JWT_REFRESH_TTL_SECONDS, jti)
    RefreshToken.objects.create(
        jti=jti,
        account=account,
        expires_at=timezone.now() + timedelta(seconds=settings.JWT_REFRESH_TTL_SECONDS),
    )
    return {
        "access": access,
        "refresh": refresh,
        "token_type": "Bearer",
        "access_expires_at": access_exp,
        "refresh_expires_at": refresh_exp,
    }


@transaction.atomic
def token_pair_sign_in(*, account: Account) -> dict[str, object]:
    """The pair for an account that has just proven its password: the sign-in is recorded
    (`last_login`, as Django's own sign-in does) with the refresh token it starts."""
    update_last_login(Account, account)
    return token_pair_issue(account=account)


def token_refresh(*, refresh: str) -> dict[str, object]:
    """A new pair for a valid refresh token, which is then revoked. Presenting a refresh token
    that was already rotated means it leaked: every session of that account ends."""
    claims = verify_token(refresh, expected_type=REFRESH)
    with transaction.atomic():
        row = RefreshToken.objects.select_for_update().filter(jti=claims.jti).first()
        if row is None or row.account_id != claims.subject:
            raise InvalidToken("unknown refresh token")
        reused = row.revoked_at is not None and bool(row.replaced_by)
        if row.revoked_at is None:
            account = Account.objects.get(pk=row.account_id)
            if not account.is_active:
                raise InvalidToken("account disabled")
            pair = token_pair_issue(account=account)
            new_jti = verify_token(str(pair["refresh"]), expected_type=REFRESH).jti
            row.revoked_at, row.replaced_by = timezone.now(), new_jti
            row.save(update_fields=["revoked_at", "replaced_by"])
            return pair
    if reused:
        # Committed on its own: the refusal below must not roll the revocation back.
        refresh_tokens_revoke_all(account=row.account)
    raise InvalidToken("refresh token revoked")


@transaction.atomic
def token_revoke(*, refresh: str, account: Account) -> None:
    claims = verify_token(refresh, expected_type=REFRESH)
    if claims.subject != account.id:
        raise InvalidToken("that refresh token belongs to another account")
    RefreshToken.objects.filter(jti=claims.jti, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def browser_token_issue(*, account: Account) -> tuple[str, int]:
    """An access token for the browser cookie of the browsable API, and its lifetime."""
    ttl = settings.JWT_BROWSER_TTL_SECONDS
    token, _ = _encode(account, ACCESS, ttl, uuid.uuid4().hex)
    return token, ttl


@transaction.atomic
def browser_sign_in(*, account: Account) -> tuple[str, int]:
    """The browser cookie's token for an account that has just proven its password or its stake
    key on the sign-in page; the sign-in is recorded (`last_login`), as the API's is."""
    update_last_login(Account, account)
    return browser_token_issue(account=account)


def admin_sso_ticket_issue(*, account: Account, service: str) -> str:
    """A one-minute ticket that lets an operator's browser into `service`'s admin."""
    ticket, _ = _encode(account, ADMIN_SSO, 60, uuid.uuid4().hex, svc=service, email=account.email)
    return ticket


def refresh_tokens_revoke_all(*, account: Account) -> int:
    return RefreshToken.objects.filter(account=account, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def refresh_tokens_purge_expired() -> int:
    deleted, _ = RefreshToken.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted
