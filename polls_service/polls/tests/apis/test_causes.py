"""polls_service trusts accounts-issued tokens with only the public key."""

import json
import uuid

import pytest

from polls.models import Cause
from polls.tests.conftest import client_with
from shared_events.core.outbox.models import OutboxEvent
from shared_events.kit.testing import make_token

pytestmark = pytest.mark.django_db


def test_anyone_signed_in_reads_active_causes(as_delegator):
    Cause.objects.create(title="Water wells")
    Cause.objects.create(title="Retired", is_active=False)
    body = as_delegator.get("/polls/api/causes/").json()
    assert [c["title"] for c in body["results"]] == ["Water wells"]


@pytest.mark.parametrize(
    "token, status",
    [
        (None, 401),
        ("garbage", 401),
        (lambda: make_token(uuid.uuid4(), ttl=-60), 401),
        (lambda: make_token(uuid.uuid4(), token_type="refresh"), 401),
        (lambda: make_token(uuid.uuid4()), 200),
    ],
)
def test_only_valid_access_tokens_are_accepted(db, token, status):
    token = token() if callable(token) else token
    assert client_with(token).get("/polls/api/causes/").status_code == status


def test_delegators_cannot_create_or_change_causes(as_delegator):
    cause = Cause.objects.create(title="Schools")
    assert as_delegator.post("/polls/api/causes/", {"title": "x"}, format="json").status_code == 403
    assert (
        as_delegator.patch(
            f"/polls/api/causes/{cause.pk}/", {"title": "y"}, format="json"
        ).status_code
        == 403
    )


def test_an_unknown_cause_is_a_404_before_its_input_is_read(as_operator):
    url = f"/polls/api/causes/{uuid.uuid4()}/"
    not_found = {"detail": "No Cause matches the given query."}
    assert (as_operator.get(url).status_code, as_operator.get(url).json()) == (404, not_found)
    response = as_operator.patch(url, {"unknown": "field"}, format="json")
    assert (response.status_code, response.json()) == (404, not_found)


def test_operators_create_and_deactivate_causes_and_each_change_is_published(as_operator):
    created = as_operator.post(
        "/polls/api/causes/",
        {
            "title": "Clean water",
            "description": "Wells in villages",
            "url": "https://example.org/water",
            "image_url": "https://example.org/w.png",
        },
        format="json",
    )
    assert created.status_code == 201
    cause_id = created.json()["id"]
    changed = as_operator.patch(
        f"/polls/api/causes/{cause_id}/", {"is_active": False}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["is_active"] is False
    events = [
        json.loads(bytes(r.payload))
        for r in OutboxEvent.objects.filter(aggregate_id=cause_id).order_by("seq")
    ]
    assert [(e["type"], e["version"], e["data"]["is_active"]) for e in events] == [
        ("polls.cause.created", 1, True),
        ("polls.cause.updated", 2, False),
    ]
    listing = as_operator.get("/polls/api/causes/?include_inactive=true").json()
    assert [c["id"] for c in listing["results"]] == [cause_id]


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x", "url": "not a url"}, "url"),
        ({"title": "x", "colour": "red"}, "colour"),
        ({"title": "x", "id": str(uuid.uuid4())}, "id"),
    ],
)
def test_bad_cause_input_is_a_field_level_400(as_operator, body, field):
    response = as_operator.post("/polls/api/causes/", body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Cause.objects.exists()


def test_schema_docs_and_health_are_served(as_delegator):
    assert b"/polls/api/causes/" in client_with(None).get("/polls/api/schema/").content
    assert client_with(None).get("/polls/health/ready").status_code == 200


def test_the_api_root_lists_the_endpoints_and_the_page_links_the_other_services(db):
    root = client_with(None).get("/polls/api/", HTTP_ACCEPT="application/json").json()
    assert root["cause-list"].endswith("/polls/api/causes/")
    assert root["poll-list"].endswith("/polls/api/polls/")
    page = client_with(None).get("/polls/api/", HTTP_ACCEPT="text/html").content.decode()
    assert "charity vote · polls" in page and "/accounts/api/" in page and "/voting/api/" in page
