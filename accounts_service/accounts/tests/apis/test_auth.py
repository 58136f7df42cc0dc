"""Registering, signing in, refreshing and signing out over the API."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Account

from ..conftest import PASSWORD, STAKE, sign_in

pytestmark = pytest.mark.django_db


def register(api, **body):
    body.setdefault("password", PASSWORD)
    return api.post("/accounts/api/register/", body, format="json")


def test_registration_returns_the_account_with_its_id(api):
    response = register(api, email="new@example.org", stake_address=None)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "email",
        "role",
        "stake_address",
        "stake_address_verified_at",
        "points",
        "is_active",
        "date_joined",
    }
    assert (body["email"], body["role"], body["stake_address"]) == (
        "new@example.org",
        "delegator",
        None,
    )
    assert "password" not in response.content.decode()


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"email": "nope"}, "email", "valid email"),
        ({"email": "a@example.org", "password": "short"}, "password", "too short"),
        ({"email": "a@example.org", "password": "1234567890123"}, "password", "entirely numeric"),
        # A stake address counts only with a proof of its key (apis/test_wallet.py).
        ({"email": "a@example.org", "stake_address": "stake1xyz"}, "stake_address", "proof"),
        ({"email": "a@example.org", "stake_address": STAKE}, "stake_address", "proof"),
        ({"email": "a@example.org", "is_admin": True}, "is_admin", "Unknown field"),
        ({"email": "a@example.org", "points": 10**9}, "points", "Unknown field"),
        ({}, "email", "required"),
    ],
)
def test_bad_registrations_get_a_field_level_400(api, body, field, message):
    response = register(api, **body)
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not Account.objects.exists()


def test_a_duplicate_email_is_a_400(api):
    assert register(api, email="a@example.org", stake_address="").status_code == 201
    dup_email = register(api, email="A@example.org")
    assert dup_email.status_code == 400 and "already exists" in dup_email.json()["email"][0]


def test_malformed_json_is_a_400(api):
    response = api.post("/accounts/api/register/", "{not json", content_type="application/json")
    assert response.status_code == 400 and "detail" in response.json()


def test_sign_in_gives_a_token_pair_and_wrong_credentials_a_401(api, delegator):
    pair = sign_in(api, delegator.email)
    assert {"access", "refresh", "token_type"} <= set(pair)
    bad = api.post(
        "/accounts/api/token/", {"email": delegator.email, "password": "wrong"}, format="json"
    )
    assert bad.status_code == 401
    unknown = api.post(
        "/accounts/api/token/", {"email": "who@example.org", "password": "x"}, format="json"
    )
    assert unknown.status_code == 401 and unknown.json() == bad.json()


def test_sign_in_attempts_are_throttled_per_email(api, delegator, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login_email": "3/min",
        },
    }
    from accounts.throttles import LoginEmailThrottle

    LoginEmailThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    try:
        codes = [
            api.post(
                "/accounts/api/token/", {"email": delegator.email, "password": "x"}, format="json"
            ).status_code
            for _ in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        # Even the right password waits now; another account does not.
        assert (
            api.post(
                "/accounts/api/token/",
                {"email": delegator.email, "password": PASSWORD},
                format="json",
            ).status_code
            == 429
        )
    finally:
        from rest_framework.settings import api_settings

        LoginEmailThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def test_refresh_rotates_and_a_reused_refresh_token_ends_every_session(api, delegator):
    first = sign_in(api, delegator.email)
    second = api.post("/accounts/api/token/refresh/", {"refresh": first["refresh"]}, format="json")
    assert second.status_code == 200 and second.json()["refresh"] != first["refresh"]
    reuse = api.post("/accounts/api/token/refresh/", {"refresh": first["refresh"]}, format="json")
    assert reuse.status_code == 401
    # The theft response: the legitimate newer token is revoked as well.
    after = api.post(
        "/accounts/api/token/refresh/", {"refresh": second.json()["refresh"]}, format="json"
    )
    assert after.status_code == 401


def test_an_access_token_is_not_a_refresh_token(api, delegator):
    pair = sign_in(api, delegator.email)
    response = api.post("/accounts/api/token/refresh/", {"refresh": pair["access"]}, format="json")
    assert response.status_code == 401


def test_logout_revokes_the_refresh_token(api, delegator):
    pair = sign_in(api, delegator.email)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert (
        api.post("/accounts/api/logout/", {"refresh": pair["refresh"]}, format="json").status_code
        == 204
    )
    assert (
        api.post(
            "/accounts/api/token/refresh/", {"refresh": pair["refresh"]}, format="json"
        ).status_code
        == 401
    )


def test_logout_refuses_another_accounts_refresh_token(api, delegator, operator):
    theirs = sign_in(APIClient(), operator.email)
    mine = sign_in(api, delegator.email)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {mine['access']}")
    response = api.post("/accounts/api/logout/", {"refresh": theirs["refresh"]}, format="json")
    assert response.status_code == 400


def test_anonymous_callers_get_401_with_a_bearer_challenge(api):
    response = api.get("/accounts/api/me/")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_a_huge_email_makes_no_huge_throttle_key():
    from django.test import RequestFactory
    from rest_framework.request import Request

    from accounts.throttles import LoginEmailThrottle

    huge = "a" * 100_000 + "@example.org"
    http = RequestFactory().post(
        "/accounts/api/token/", {"email": huge}, content_type="application/json"
    )
    from rest_framework.parsers import JSONParser

    key = LoginEmailThrottle().get_cache_key(Request(http, parsers=[JSONParser()]), view=None)
    assert key is not None and len(key) < 300 and key.endswith("a" * 200)
