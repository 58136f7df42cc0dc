"""The signed-in account's profile and ledger over the API."""

import pytest
from rest_framework.test import APIClient

from ..conftest import PASSWORD, STAKE, sign_in

pytestmark = pytest.mark.django_db


def test_me_reads_and_edits_my_profile(as_delegator, delegator):
    assert as_delegator.get("/accounts/api/me/").json()["email"] == delegator.email
    response = as_delegator.patch("/accounts/api/me/", {"email": "Dee2@example.org"}, format="json")
    assert response.status_code == 200 and response.json()["email"] == "dee2@example.org"
    # A stake address is set by a proof only (apis/test_wallet.py); here it may only be cleared.
    unproven = as_delegator.patch("/accounts/api/me/", {"stake_address": STAKE}, format="json")
    assert unproven.status_code == 400 and "proof" in unproven.json()["stake_address"][0]
    cleared = as_delegator.patch("/accounts/api/me/", {"stake_address": None}, format="json")
    assert cleared.status_code == 200 and cleared.json()["stake_address"] is None
    read_only = as_delegator.patch("/accounts/api/me/", {"points": 10**6}, format="json")
    assert read_only.status_code == 400 and read_only.json()["points"] == [
        "This field is read-only."
    ]
    unknown = as_delegator.patch("/accounts/api/me/", {"nickname": "x"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["nickname"] == ["Unknown field."]


def test_changing_my_password_needs_the_current_one(as_delegator, delegator, api):
    missing = as_delegator.patch(
        "/accounts/api/me/", {"password": "a brand new secret"}, format="json"
    )
    assert missing.status_code == 400 and "current_password" in missing.json()
    wrong = as_delegator.patch(
        "/accounts/api/me/",
        {"password": "a brand new secret", "current_password": "nope"},
        format="json",
    )
    assert wrong.status_code == 400
    ok = as_delegator.patch(
        "/accounts/api/me/",
        {"password": "a brand new secret", "current_password": PASSWORD},
        format="json",
    )
    assert ok.status_code == 200
    sign_in(APIClient(), delegator.email, "a brand new secret")


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
