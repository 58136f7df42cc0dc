import json

import pytest
from rest_framework.test import APIClient

from accounts.models import Account, Role
from accounts.services import account_register
from shared_events.core.outbox.models import OutboxEvent

PASSWORD = "correct horse battery staple"
STAKE = "stake_test1uqehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gssrtvn"


@pytest.fixture(autouse=True)
def _outbox_complete(outbox_guard):
    """Every test ends with no account changed without its event."""


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def delegator(db):
    return account_register(email="dee@example.org", password=PASSWORD)


@pytest.fixture
def operator(db):
    return account_register(email="op@example.org", password=PASSWORD, role=Role.OPERATOR)


def sign_in(api: APIClient, email: str, password: str = PASSWORD) -> dict:
    response = api.post(
        "/accounts/api/token/", {"email": email, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def as_delegator(api, delegator) -> APIClient:
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, delegator.email)['access']}")
    return api


@pytest.fixture
def as_operator(operator) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(client, operator.email)['access']}")
    return client


def last_event(account: Account) -> dict:
    """The newest event written to the outbox for this account."""
    row = OutboxEvent.objects.filter(aggregate_id=str(account.pk)).order_by("seq").last()
    return json.loads(bytes(row.payload))


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1 that a test scripts: the chain sources' remote end."""
    from shared_events.kit.chain_clients.testing import LocalHttpServer

    server = LocalHttpServer().start()
    yield server
    server.stop()
