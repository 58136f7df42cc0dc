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
