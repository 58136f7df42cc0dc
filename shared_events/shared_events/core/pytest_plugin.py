"""Fixtures for any service's tests: `pytest_plugins = ["shared_events.core.pytest_plugin"]`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .testing import NatsServer, assert_outbox_covers_published_models


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    """A real NATS JetStream server for the whole session, started from the wheel."""
    server = NatsServer().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def nats_url(nats_server: NatsServer, settings) -> str:
    """Point this test's SHARED_EVENTS at the test server (restarting it if a test killed it)."""
    if nats_server.proc is None or nats_server.proc.poll() is not None:
        nats_server.start()
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "NATS_URL": nats_server.url}
    from .outbox import relay

    relay._publisher = None  # a publisher bound to an earlier URL must not be reused
    return nats_server.url


@pytest.fixture
def outbox_guard(db) -> Iterator[None]:
    """Use autouse in a service's conftest: after each test, no published row lacks its event."""
    yield
    assert_outbox_covers_published_models()
