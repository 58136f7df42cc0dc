"""Operators managing accounts over the API."""

import pytest

from accounts.models import LedgerEntry

pytestmark = pytest.mark.django_db


def test_operator_endpoints_are_for_operators_only(as_delegator, delegator):
    assert as_delegator.get("/accounts/api/accounts/").status_code == 403
    assert (
        as_delegator.post(
            f"/accounts/api/accounts/{delegator.pk}/points/",
            {"delta": 5, "reason": "me"},
            format="json",
        ).status_code
        == 403
    )


def test_operators_list_adjust_and_deactivate_accounts(as_operator, delegator, operator):
    listing = as_operator.get("/accounts/api/accounts/?role=delegator").json()
    assert [a["id"] for a in listing["results"]] == [str(delegator.pk)]
    assert as_operator.get("/accounts/api/accounts/?role=king").status_code == 400

    entry = as_operator.post(
        f"/accounts/api/accounts/{delegator.pk}/points/",
        {"delta": -30, "reason": "correction"},
        format="json",
    )
    assert entry.status_code == 201 and entry.json()["balance_after"] == delegator.points - 30
    too_much = as_operator.post(
        f"/accounts/api/accounts/{delegator.pk}/points/",
        {"delta": -(10**6), "reason": "x"},
        format="json",
    )
    assert too_much.status_code == 400 and "below 0" in too_much.json()["delta"][0]
    assert LedgerEntry.objects.filter(account=delegator).count() == 2

    off = as_operator.patch(
        f"/accounts/api/accounts/{delegator.pk}/", {"is_active": False}, format="json"
    )
    assert off.status_code == 200 and off.json()["is_active"] is False
    selfie = as_operator.patch(
        f"/accounts/api/accounts/{operator.pk}/", {"is_active": False}, format="json"
    )
    assert selfie.status_code == 400


def test_unknown_ids_and_paths_are_json_404s(as_operator):
    import uuid

    unknown = f"/accounts/api/accounts/{uuid.uuid4()}/"
    for response in (
        as_operator.get(unknown),
        as_operator.patch(unknown, {"is_active": False}, format="json"),
        as_operator.post(f"{unknown}points/", {"delta": 1, "reason": "x"}, format="json"),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "No Account matches the given query."}
    response = as_operator.get("/accounts/api/nothing-here/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
