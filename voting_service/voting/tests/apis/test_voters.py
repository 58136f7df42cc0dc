"""Me as voting sees me: its replica of my account, never my token's claims."""

import uuid

import pytest
from rest_framework.test import APIClient

from shared_events.core.consumer.apply import apply_batch
from shared_events.kit.testing import make_token

from ..factories import account_message

pytestmark = pytest.mark.django_db


def test_me_shows_my_voter_replica_or_says_it_is_not_here_yet():
    account = uuid.uuid4()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(account)}")
    not_yet = client.get("/voting/api/me/")
    assert not_yet.status_code == 404 and "not know your account yet" in not_yet.json()["detail"]
    apply_batch([account_message(account, 1, points=42)])
    me = client.get("/voting/api/me/").json()
    assert (me["id"], me["points"], me["can_vote"]) == (str(account), 42, True)


def test_power_comes_from_the_replica_not_from_token_claims():
    account = uuid.uuid4()
    apply_batch([account_message(account, 1, points=7)])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(account, points=10**9)}")
    assert client.get("/voting/api/me/").json()["points"] == 7


def test_anonymous_gets_401():
    assert APIClient().get("/voting/api/me/").status_code == 401
