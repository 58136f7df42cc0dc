import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Account, LedgerEntry

from .conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db
STAKE = "stake_test1uqehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gssrtvn"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


def register(api, **body):
    body.setdefault("password", PASSWORD)
    return api.post("/accounts/api/register/", body, format="json")


def test_registration_returns_the_account_with_its_id(api):
    response = register(api, email="new@example.org", stake_address=STAKE)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "role", "stake_address", "points", "is_active",
                         "date_joined"}
    assert (body["email"], body["role"], body["stake_address"]) == (
        "new@example.org", "delegator", STAKE)
    assert "password" not in response.content.decode()


@pytest.mark.parametrize("body, field, message", [
    ({"email": "nope"}, "email", "valid email"),
    ({"email": "a@example.org", "password": "short"}, "password", "too short"),
    ({"email": "a@example.org", "password": "1234567890123"}, "password", "entirely numeric"),
    ({"email": "a@example.org", "stake_address": "stake1xyz"}, "stake_address", "bech32"),
    ({"email": "a@example.org", "is_admin": True}, "is_admin", "Unknown field"),
    ({"email": "a@example.org", "points": 10**9}, "points", "Unknown field"),
    ({}, "email", "required"),
])
def test_bad_registrations_get_a_field_level_400(api, body, field, message):
    response = register(api, **body)
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not Account.objects.exists()


def test_a_duplicate_email_or_stake_address_is_a_400(api):
    assert register(api, email="a@example.org", stake_address=STAKE).status_code == 201
    dup_email = register(api, email="A@example.org")
    assert dup_email.status_code == 400 and "already exists" in dup_email.json()["email"][0]
    dup_stake = register(api, email="b@example.org", stake_address=STAKE)
    assert dup_stake.status_code == 400 and "stake_address" in dup_stake.json()


def test_malformed_json_is_a_400(api):
    response = api.post("/accounts/api/register/", "{not json", content_type="application/json")
    assert response.status_code == 400 and "detail" in response.json()


def test_sign_in_gives_a_token_pair_and_wrong_credentials_a_401(api, delegator):
    pair = sign_in(api, delegator.email)
    assert {"access", "refresh", "token_type"} <= set(pair)
    bad = api.post("/accounts/api/token/", {"email": delegator.email, "password": "wrong"},
                   format="json")
    assert bad.status_code == 401
    unknown = api.post("/accounts/api/token/", {"email": "who@example.org", "password": "x"},
                       format="json")
    assert unknown.status_code == 401 and unknown.json() == bad.json()


def test_sign_in_attempts_are_throttled_per_email(api, delegator, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_email": "3/min"}}
    from accounts.throttles import LoginEmailThrottle

    LoginEmailThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    try:
        codes = [api.post("/accounts/api/token/", {"email": delegator.email, "password": "x"},
                          format="json").status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        # Even the right password waits now; another account does not.
        assert api.post("/accounts/api/token/", {"email": delegator.email,
                        "password": PASSWORD}, format="json").status_code == 429
    finally:
        from rest_framework.settings import api_settings

        LoginEmailThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def test_me_reads_and_edits_my_profile(as_delegator, delegator):
    assert as_delegator.get("/accounts/api/me/").json()["email"] == delegator.email
    response = as_delegator.patch("/accounts/api/me/", {"stake_address": STAKE}, format="json")
    assert response.status_code == 200 and response.json()["stake_address"] == STAKE
    read_only = as_delegator.patch("/accounts/api/me/", {"points": 10**6}, format="json")
    assert read_only.status_code == 400 and read_only.json()["points"] == [
        "This field is read-only."]
    unknown = as_delegator.patch("/accounts/api/me/", {"nickname": "x"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["nickname"] == ["Unknown field."]


def test_changing_my_password_needs_the_current_one(as_delegator, delegator, api):
    missing = as_delegator.patch("/accounts/api/me/", {"password": "a brand new secret"},
                                 format="json")
    assert missing.status_code == 400 and "current_password" in missing.json()
    wrong = as_delegator.patch("/accounts/api/me/", {"password": "a brand new secret",
                               "current_password": "nope"}, format="json")
    assert wrong.status_code == 400
    ok = as_delegator.patch("/accounts/api/me/", {"password": "a brand new secret",
                            "current_password": PASSWORD}, format="json")
    assert ok.status_code == 200
    sign_in(APIClient(), delegator.email, "a brand new secret")


def test_refresh_rotates_and_a_reused_refresh_token_ends_every_session(api, delegator):
    first = sign_in(api, delegator.email)
    second = api.post("/accounts/api/token/refresh/", {"refresh": first["refresh"]},
                      format="json")
    assert second.status_code == 200 and second.json()["refresh"] != first["refresh"]
    reuse = api.post("/accounts/api/token/refresh/", {"refresh": first["refresh"]},
                     format="json")
    assert reuse.status_code == 401
    # The theft response: the legitimate newer token is revoked as well.
    after = api.post("/accounts/api/token/refresh/", {"refresh": second.json()["refresh"]},
                     format="json")
    assert after.status_code == 401


def test_an_access_token_is_not_a_refresh_token(api, delegator):
    pair = sign_in(api, delegator.email)
    response = api.post("/accounts/api/token/refresh/", {"refresh": pair["access"]},
                        format="json")
    assert response.status_code == 401


def test_logout_revokes_the_refresh_token(api, delegator):
    pair = sign_in(api, delegator.email)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert api.post("/accounts/api/logout/", {"refresh": pair["refresh"]},
                    format="json").status_code == 204
    assert api.post("/accounts/api/token/refresh/", {"refresh": pair["refresh"]},
                    format="json").status_code == 401


def test_logout_refuses_another_accounts_refresh_token(api, delegator, operator):
    theirs = sign_in(APIClient(), operator.email)
    mine = sign_in(api, delegator.email)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {mine['access']}")
    response = api.post("/accounts/api/logout/", {"refresh": theirs["refresh"]}, format="json")
    assert response.status_code == 400


def test_my_ledger_lists_my_entries_only(as_delegator, delegator, operator):
    from accounts.services import points_adjust

    points_adjust(account=delegator, delta=5, reason="thanks", by=operator)
    points_adjust(account=operator, delta=5, reason="not yours", by=operator)
    body = as_delegator.get("/accounts/api/me/ledger/").json()
    assert [e["kind"] for e in body["results"]] == ["adjustment", "initial_grant"]
    assert body["count"] == 2


def test_a_deactivated_accounts_access_token_stops_working_at_once(as_delegator, delegator):
    from accounts.services import account_set_active

    account_set_active(account=delegator, is_active=False)
    assert as_delegator.get("/accounts/api/me/").status_code == 401


def test_anonymous_callers_get_401_with_a_bearer_challenge(api):
    response = api.get("/accounts/api/me/")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_operator_endpoints_are_for_operators_only(as_delegator, delegator):
    assert as_delegator.get("/accounts/api/accounts/").status_code == 403
    assert as_delegator.post(f"/accounts/api/accounts/{delegator.pk}/points/",
                             {"delta": 5, "reason": "me"}, format="json").status_code == 403


def test_operators_list_adjust_and_deactivate_accounts(as_operator, delegator, operator):
    listing = as_operator.get("/accounts/api/accounts/?role=delegator").json()
    assert [a["id"] for a in listing["results"]] == [str(delegator.pk)]
    assert as_operator.get("/accounts/api/accounts/?role=king").status_code == 400

    entry = as_operator.post(f"/accounts/api/accounts/{delegator.pk}/points/",
                             {"delta": -30, "reason": "correction"}, format="json")
    assert entry.status_code == 201 and entry.json()["balance_after"] == delegator.points - 30
    too_much = as_operator.post(f"/accounts/api/accounts/{delegator.pk}/points/",
                                {"delta": -10**6, "reason": "x"}, format="json")
    assert too_much.status_code == 400 and "below 0" in too_much.json()["delta"][0]
    assert LedgerEntry.objects.filter(account=delegator).count() == 2

    off = as_operator.patch(f"/accounts/api/accounts/{delegator.pk}/", {"is_active": False},
                            format="json")
    assert off.status_code == 200 and off.json()["is_active"] is False
    selfie = as_operator.patch(f"/accounts/api/accounts/{operator.pk}/", {"is_active": False},
                               format="json")
    assert selfie.status_code == 400


def test_unknown_ids_and_paths_are_json_404s(as_operator):
    import uuid

    assert as_operator.get(f"/accounts/api/accounts/{uuid.uuid4()}/").status_code == 404
    response = as_operator.get("/accounts/api/nothing-here/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_the_openapi_schema_and_docs_are_served(api):
    schema = api.get("/accounts/api/schema/")
    assert schema.status_code == 200 and b"/accounts/api/register/" in schema.content
    # The bearer scheme (shared_events.kit.identity.openapi, loaded with the URLs) is offered.
    assert b"bearerAuth:" in schema.content and b"scheme: bearer" in schema.content
    assert api.get("/accounts/api/docs/").status_code == 200


def test_health_endpoints(api):
    assert api.get("/accounts/health/live").json() == {"status": "ok"}
    assert api.get("/accounts/health/ready").status_code == 200
