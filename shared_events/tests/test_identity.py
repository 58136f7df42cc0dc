"""Tokens are verified with the public key alone, and only tokens accounts could have signed."""

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared_events.kit.identity.keys import key_id
from shared_events.kit.identity.tokens import InvalidToken, verify_token


def keypair():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public_pem


SIGNER, SIGNER_PUBLIC = keypair()
STRANGER, STRANGER_PUBLIC = keypair()


@pytest.fixture(autouse=True)
def trusted_key(settings):
    settings.JWT_PUBLIC_KEYS = {key_id(SIGNER_PUBLIC): SIGNER_PUBLIC}


def claims(**overrides):
    now = int(time.time())
    base = {
        "iss": "accounts",
        "aud": "charity-vote",
        "sub": str(uuid.uuid4()),
        "role": "delegator",
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 300,
    }
    base.update(overrides)
    return base


def sign(payload, key=SIGNER, kid=None, alg="RS256"):
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid or key_id(SIGNER_PUBLIC)})


def test_a_token_signed_by_accounts_is_accepted():
    payload = claims(role="operator")
    verified = verify_token(sign(payload))
    assert str(verified.subject) == payload["sub"] and verified.role == "operator"


@pytest.mark.parametrize(
    "token, reason",
    [
        (lambda: sign(claims(exp=int(time.time()) - 60)), "expired"),
        (lambda: sign(claims(), key=STRANGER), "invalid token"),
        (lambda: sign(claims(), key=STRANGER, kid=key_id(STRANGER_PUBLIC)), "unknown key"),
        (
            lambda: jwt.encode(
                claims(), None, algorithm="none", headers={"kid": key_id(SIGNER_PUBLIC)}
            ),
            "unsupported",
        ),
        (
            lambda: jwt.api_jws.PyJWS().encode(
                b'{"sub":"x"}', SIGNER_PUBLIC.encode()[:32], algorithm="HS256"
            ),
            "unsupported",
        ),
        (lambda: sign(claims(typ="refresh")), "expected an access token"),
        (lambda: sign(claims(aud="someone-else")), "invalid token"),
        (lambda: sign(claims(iss="mallory")), "invalid token"),
        (lambda: sign({k: v for k, v in claims().items() if k != "jti"}), "invalid token"),
        (lambda: sign(claims(sub="not-a-uuid")), "invalid subject"),
        (lambda: "not.a.token", "malformed"),
    ],
)
def test_tokens_accounts_did_not_issue_are_rejected(token, reason):
    with pytest.raises(InvalidToken, match=reason):
        verify_token(token())
