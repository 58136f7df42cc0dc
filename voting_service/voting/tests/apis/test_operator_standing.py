"""Operator rights here follow the voter replica, not the role a still-valid token claims; and a
deactivated delegator's token stops casting and retracting ballots once the replica has it."""

import uuid

import pytest
from rest_framework.test import APIRequestFactory

from shared_events.kit.identity.authentication import JWTAuthentication
from shared_events.kit.identity.permissions import NO_LONGER_OPERATOR, IsOperator
from shared_events.kit.testing import make_token

from ..factories import ballot_body, client_for, make_voter, set_voter

pytestmark = pytest.mark.django_db


def caller(account_id, role):
    """The request's user as the API's authentication makes it from a bearer token."""
    request = APIRequestFactory().get(
        "/voting/api/me/", HTTP_AUTHORIZATION=f"Bearer {make_token(account_id, role)}"
    )
    user, _claims = JWTAuthentication().authenticate(request)
    request.user = user
    return request


def operator_check(request):
    permission = IsOperator()
    return permission.has_permission(request, None), permission.message


@pytest.mark.parametrize(
    "change",
    [{"role": "delegator"}, {"is_active": False}, {"deleted": True}],
    ids=["demoted", "deactivated", "deleted"],
)
def test_an_operator_token_loses_its_rights_once_the_replica_says_so(change):
    operator = make_voter(role="operator")
    assert operator_check(caller(operator.pk, "operator"))[0]
    set_voter(operator, **change)
    assert operator_check(caller(operator.pk, "operator")) == (False, NO_LONGER_OPERATOR)


def test_an_account_the_replica_does_not_know_yet_keeps_what_its_token_says():
    assert operator_check(caller(uuid.uuid4(), "operator"))[0]
    assert not operator_check(caller(uuid.uuid4(), "delegator"))[0]


def test_a_deactivated_delegator_can_neither_cast_nor_retract(poll):
    voter = make_voter()
    api = client_for(voter.pk)
    url = f"/voting/api/polls/{poll.pk}/ballot/"
    assert api.put(url, ballot_body(poll, 1), format="json").status_code == 201
    set_voter(voter, is_active=False)
    assert api.put(url, ballot_body(poll, 2), format="json").status_code == 403
    assert api.delete(url).status_code == 403
    assert api.get(url).json()["allocations"][0]["points"] == 1


def sso_ticket(account_id):
    return make_token(
        account_id, "operator", token_type="admin_sso", ttl=60, svc="voting", email="op@example.org"
    )


@pytest.mark.parametrize(
    "change", [{"role": "delegator"}, {"is_active": False}], ids=["demoted", "deactivated"]
)
def test_the_admin_session_of_a_demoted_operator_ends_at_the_next_request(client, change):
    operator = make_voter(role="operator")
    client.get("/voting/admin/sso/", {"token": sso_ticket(operator.pk)})
    assert client.get("/voting/admin/voting/voter/").status_code == 200
    set_voter(operator, **change)
    response = client.get("/voting/admin/voting/voter/")
    assert response.status_code == 302
    assert response["Location"].startswith("/voting/admin/login/")
    assert "_auth_user_id" not in client.session  # signed out, not just redirected


def test_a_ticket_for_an_account_the_replica_says_is_demoted_opens_no_session(client):
    demoted = make_voter(role="delegator")
    response = client.get("/voting/admin/sso/", {"token": sso_ticket(demoted.pk)})
    assert response.status_code == 403 and b"active operator" in response.content
    assert client.get("/voting/admin/").status_code == 302
