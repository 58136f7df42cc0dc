import json
import uuid

import pytest
from rest_framework.test import APIClient

from shared_events.core.outbox.models import OutboxEvent
from shared_events.kit.testing import make_token


def assert_poll_events_carry_current_causes() -> None:
    """The newest event of every poll is its current state, causes included. A change to a
    poll's causes that skipped the republish (raw SQL, a new code path) fails this."""
    from polls.models import Poll

    problems = []
    for poll in Poll.objects.all():
        row = (
            OutboxEvent.objects.filter(
                event_type__startswith="polls.poll.", aggregate_id=str(poll.pk)
            )
            .order_by("-aggregate_version", "-seq")
            .first()
        )
        published = json.loads(bytes(row.payload))["data"] if row else None
        if published != poll.event_state().to_dict():
            problems.append(f"poll {poll.pk} v{poll.version}: published {published}")
    assert not problems, "polls whose newest event is not their state: " + "; ".join(problems)


@pytest.fixture(autouse=True)
def _outbox_complete(outbox_guard):
    """Every test ends with no published row changed without its event, and every poll's newest
    event saying which causes it offers now."""
    yield
    assert_poll_events_carry_current_causes()


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


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1 that a test scripts: the chain source's remote end."""
    from shared_events.kit.chain_clients.testing import LocalHttpServer

    server = LocalHttpServer().start()
    yield server
    server.stop()


@pytest.fixture
def ledger():
    from .chain.remotes import Ledger

    return Ledger()


@pytest.fixture(params=["blockfrost", "koios"])
def chain(request, http_server, ledger, settings):
    """polls reading payout transactions from a local Blockfrost, then a local Koios, both
    answering from `ledger`; fast retries."""
    from .chain.remotes import PROJECT_ID, BlockfrostTxRemote, KoiosTxRemote

    settings.CHAIN_SOURCE = request.param
    settings.CHAIN_SOURCE_ATTEMPTS = 2
    settings.CHAIN_SOURCE_FIRST_RETRY_DELAY_SECONDS = 0.01
    settings.CHAIN_SOURCE_TIMEOUT_SECONDS = 5
    if request.param == "blockfrost":
        settings.BLOCKFROST_PROJECT_ID = PROJECT_ID
        settings.BLOCKFROST_API_URL = BlockfrostTxRemote(http_server, ledger).url
    else:
        settings.KOIOS_API_URL = KoiosTxRemote(http_server, ledger).url
    return request.param
