"""Verifying accounts-issued JWTs. Only RS256 with a known `kid` is accepted: `alg: none`, an
HMAC token signed with the public key as a secret, or another key's signature all fail."""

from __future__ import annotations

import dataclasses
import functools
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from django.conf import settings

ALGORITHM = "RS256"
ACCESS = "access"
REFRESH = "refresh"
ADMIN_SSO = "admin_sso"  # one-minute, one-use ticket from accounts into another admin


class InvalidToken(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class TokenClaims:
    subject: uuid.UUID
    role: str
    token_type: str
    jti: str
    issued_at: int
    expires_at: int
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


@functools.lru_cache(maxsize=16)
def _public_key(pem: str) -> Any:
    # Parsed once per process: PEM parsing is a measurable part of a request otherwise.
    return serialization.load_pem_public_key(pem.encode())


def verify_token(token: str, *, expected_type: str = ACCESS) -> TokenClaims:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"malformed token: {exc}") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("unsupported token algorithm")
    kid = header.get("kid")
    pem = settings.JWT_PUBLIC_KEYS.get(kid) if isinstance(kid, str) else None
    if pem is None:
        raise InvalidToken("token signed with an unknown key")
    try:
        claims = jwt.decode(
            token,
            _public_key(pem),
            algorithms=[ALGORITHM],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            options={"require": ["exp", "iat", "sub", "jti", "typ", "iss", "aud"]},
            leeway=10,
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid token: {exc}") from None
    if claims["typ"] != expected_type:
        raise InvalidToken(f"expected an {expected_type} token")
    try:
        subject = uuid.UUID(claims["sub"])
    except (ValueError, TypeError):
        raise InvalidToken("invalid subject") from None
    return TokenClaims(
        subject=subject,
        role=str(claims.get("role", "")),
        token_type=claims["typ"],
        jti=str(claims["jti"]),
        issued_at=int(claims["iat"]),
        expires_at=int(claims["exp"]),
        extra={
            k: v
            for k, v in claims.items()
            if k not in {"iss", "aud", "sub", "role", "typ", "jti", "iat", "exp"}
        },
    )
