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


def test_a_key_id_is_the_digest_of_the_keys_der_as_cryptography_encodes_it():
    """key_id reads the PEM without cryptography (most processes never load it); the id must
    stay the one a token's `kid` names: the SHA-256 of the key's DER SubjectPublicKeyInfo."""
    import base64
    import hashlib

    for public_pem in (SIGNER_PUBLIC, STRANGER_PUBLIC):
        der = serialization.load_pem_public_key(public_pem.encode()).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:12]).decode()
        assert key_id(public_pem) == expected.rstrip("=")


@pytest.mark.parametrize(
    "pem",
    [
        "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----",
        "-----BEGIN PUBLIC KEY-----\naGVsbG8=\n-----END PUBLIC KEY-----",  # "hello": no DER
    ],
)
def test_a_public_key_that_is_no_pem_key_stops_the_settings(pem):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        key_id(pem)
