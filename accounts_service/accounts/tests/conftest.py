import json

import pytest
from rest_framework.test import APIClient

from accounts.models import Account, Role
from accounts.services import account_register
from config.celery import app as celery_app
from shared_events.core.outbox.models import OutboxEvent
from shared_events.kit.smtp_testing import smtp_server

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


# Notifications go to a real SMTP server the tests start; Celery runs its tasks in the test's
# process (eager), after the commits that queue them, as a worker would.


@pytest.fixture
def smtp(settings):
    with smtp_server() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.DEFAULT_FROM_EMAIL = "Charity vote <votes@pool.example>"
        settings.SERVICE_PUBLIC_URLS = {
            **settings.SERVICE_PUBLIC_URLS,
            "accounts": "https://pool.example",
        }
        yield server


@pytest.fixture
def eager_celery():
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        yield celery_app
    finally:
        celery_app.conf.task_always_eager = before
