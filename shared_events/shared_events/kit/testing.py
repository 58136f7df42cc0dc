"""Test helpers for the services' identity: a token as accounts would sign it."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import jwt
from django.conf import settings

from .identity.keys import embedded_keypair, key_id


def make_token(
    subject: object,
    role: str = "delegator",
    *,
    token_type: str = "access",
    ttl: int = 300,
    **claims: object,
) -> str:
    """A token as accounts_service would sign it, with the embedded key pair of this test run's
    VAR_DIR (the one the service under test trusts)."""
    private_path, public_path = embedded_keypair(Path(settings.VAR_DIR))
    now = int(time.time())
    payload = {
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "sub": str(subject),
        "role": role,
        "typ": token_type,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + ttl,
        **claims,
    }
    return jwt.encode(
        payload,
        private_path.read_text(),
        algorithm="RS256",
        headers={"kid": key_id(public_path.read_text())},
    )
