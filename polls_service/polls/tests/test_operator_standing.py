"""Operator rights here follow polls' replica of accounts, not the role a still-valid token
claims: a demotion or a deactivation takes effect once the replica has it."""

import json
import uuid
from datetime import UTC, datetime
from itertools import count

import pytest
from rest_framework.test import APIClient

from polls.models import AccountReplica, PollStatus
from polls.tests.factories import make_poll, scheduled_poll
from shared_events.core.consumer.apply import Action, IncomingMessage, apply_batch
from shared_events.kit.identity.permissions import NO_LONGER_OPERATOR
from shared_events.kit.testing import make_token

from .conftest import client_with

pytestmark = pytest.mark.django_db
COOKIE = "charity_vote_access"
_seq = count(1)


def account_message(
    account_id, version, *, role="operator", is_active=True, deleted=False, verb="updated"
):
    data = {
        "id": str(account_id),
        "role": role,
        "is_active": is_active,
        "points": 0,
        "stake_address": None,
        "joined_at": "2026-01-01T00:00:00+00:00",
    }
    if deleted:
        data["deleted"] = True
    return IncomingMessage(
        "ACCOUNTS",
        next(_seq),
        f"accounts.account.{account_id}",
        json.dumps(
            {
                "id": str(uuid.uuid4()),
                "type": f"accounts.account.{verb}",
                "schema_version": 1,
                "aggregate_id": str(account_id),
                "version": version,
                "occurred_at": datetime.now(UTC).isoformat(),
                "data": data,
            }
        ).encode(),
    )


def replicate(*messages):
    assert [o.action for o in apply_batch(list(messages))] == [Action.ACK] * len(messages)


def create_cause(client):
    return client.post("/polls/api/causes/", {"title": "Water wells"}, format="json")


def test_account_states_reach_the_replica_newest_wins():
    account = uuid.uuid4()
    replicate(
        account_message(account, 1, verb="created"),
        account_message(account, 3, role="delegator"),
        account_message(account, 2, is_active=False),
    )
    row = AccountReplica.objects.get(pk=account)
    assert (row.role, row.is_active, row.source_version) == ("delegator", True, 3)


@pytest.mark.parametrize(
    "change",
    [{"role": "delegator"}, {"is_active": False}, {"deleted": True, "verb": "deleted"}],
    ids=["demoted", "deactivated", "deleted"],
)
def test_an_operator_token_loses_its_rights_once_the_replica_says_so(change):
    operator = uuid.uuid4()
    client = client_with(make_token(operator, "operator"))
    replicate(account_message(operator, 1, verb="created"))
    assert create_cause(client).status_code == 201
    replicate(account_message(operator, 2, **change))
    # The same token, still valid for minutes.
    refused = create_cause(client)
    assert refused.status_code == 403 and refused.json()["detail"] == NO_LONGER_OPERATOR
    poll = scheduled_poll()
    assert client.post(f"/polls/api/polls/{poll.pk}/cancel/").status_code == 403
    poll.refresh_from_db()
    assert poll.status == PollStatus.SCHEDULED


def test_the_browser_cookie_of_a_demoted_operator_cannot_cancel_a_poll():
    operator = uuid.uuid4()
    browser = APIClient()
    browser.cookies[COOKIE] = make_token(operator, "operator")
    poll = scheduled_poll()
    replicate(
        account_message(operator, 1, verb="created"), account_message(operator, 2, role="delegator")
    )
    assert browser.post(f"/polls/api/polls/{poll.pk}/cancel/").status_code == 403
    poll.refresh_from_db()
    assert poll.status == PollStatus.SCHEDULED


def test_an_account_the_replica_does_not_know_yet_keeps_what_its_token_says():
    # A brand-new operator, before accounts' first event about them is applied here.
    assert create_cause(client_with(make_token(uuid.uuid4(), "operator"))).status_code == 201
    refused = create_cause(client_with(make_token(uuid.uuid4(), "delegator")))
    assert refused.status_code == 403 and refused.json()["detail"] == "Only operators may do this."


def test_the_replica_decides_both_ways_a_promoted_delegator_is_an_operator():
    account = uuid.uuid4()
    replicate(account_message(account, 1, role="operator"))
    assert create_cause(client_with(make_token(account, "delegator"))).status_code == 201


def test_a_demoted_operator_no_longer_sees_drafts():
    draft = make_poll()
    operator = uuid.uuid4()
    client = client_with(make_token(operator, "operator"))
    assert str(draft.pk) in {p["id"] for p in client.get("/polls/api/polls/").json()["results"]}
    replicate(account_message(operator, 1, role="delegator"))
    assert str(draft.pk) not in {p["id"] for p in client.get("/polls/api/polls/").json()["results"]}


def sso_ticket(account_id):
    return make_token(
        account_id, "operator", token_type="admin_sso", ttl=60, svc="polls", email="op@example.org"
    )


@pytest.mark.parametrize(
    "change", [{"role": "delegator"}, {"is_active": False}], ids=["demoted", "deactivated"]
)
def test_the_admin_session_of_a_demoted_operator_ends_at_the_next_request(client, change):
    operator = uuid.uuid4()
    replicate(account_message(operator, 1, verb="created"))
    client.get("/polls/admin/sso/", {"token": sso_ticket(operator)})
    assert client.get("/polls/admin/polls/cause/").status_code == 200
    replicate(account_message(operator, 2, **change))
    response = client.get("/polls/admin/polls/cause/")
    assert response.status_code == 302
    assert response["Location"].startswith("/polls/admin/login/")
    assert "_auth_user_id" not in client.session  # signed out, not just redirected


def test_a_ticket_for_an_account_the_replica_says_is_demoted_opens_no_session(client):
    operator = uuid.uuid4()
    replicate(account_message(operator, 1, role="delegator"))
    response = client.get("/polls/admin/sso/", {"token": sso_ticket(operator)})
    assert response.status_code == 403 and b"active operator" in response.content
    assert client.get("/polls/admin/").status_code == 302
