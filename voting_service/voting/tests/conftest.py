import pytest

from .factories import client_for, make_poll, make_voter


@pytest.fixture(autouse=True)
def _outbox_complete(outbox_guard):
    """Every test ends with no published row (a tally) changed without its event."""


@pytest.fixture
def voter(db):
    return make_voter(points=100)


@pytest.fixture
def poll(db):
    return make_poll(causes=3)


@pytest.fixture
def api(voter):
    return client_for(voter.pk)
