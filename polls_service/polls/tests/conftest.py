import uuid

import pytest
from rest_framework.test import APIClient

from shared_events.testing import make_token


@pytest.fixture(autouse=True)
def _outbox_complete(outbox_guard):
    """Every test ends with no published row changed without its event."""


def client_with(token: str | None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def as_delegator(db) -> APIClient:
    return client_with(make_token(uuid.uuid4(), "delegator"))


@pytest.fixture
def as_operator(db) -> APIClient:
    return client_with(make_token(uuid.uuid4(), "operator"))
