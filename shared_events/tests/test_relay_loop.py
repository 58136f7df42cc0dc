"""The relay loop of the Celery worker on PostgreSQL: a commit that records events notifies it
(a rollback does not), it publishes what it was woken for without waiting for a sweep, and it
starts over when its listening connection is killed."""

import select
from types import SimpleNamespace

import pytest
from django.db import connection, connections, transaction

from shared_events.core.celery_app import RelayLoopStep
from shared_events.core.outbox.listen import CHANNEL, RelayLoop
from shared_events.core.outbox.models import OutboxEvent
from shared_events.core.testing import wait_until
from tests.testapp.models import Widget

pytestmark = [pytest.mark.django_db(transaction=True)]

# Never reached in a test: only a notification can wake the loop.
NO_SWEEP = 3600.0


@pytest.fixture(autouse=True)
def _postgresql_only(settings):
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "RELAY_KICK": True, "RELAY_LISTEN": True}


def _admin():
    """A connection of the test's own to the test database, autocommit (as the loop opens its
    listening one)."""
    wrapper = connections["default"]
    admin = wrapper.get_new_connection(wrapper.get_connection_params())
    admin.autocommit = True
    return admin


@pytest.fixture
def loop(fresh_streams):
    loops = []

    def start() -> RelayLoop:
        loops.append(RelayLoop(sweep_seconds=NO_SWEEP).start())
        return loops[-1]

    yield start
    for running in loops:
        running.stop()


def _published(widget: Widget) -> bool:
    return OutboxEvent.objects.filter(
        aggregate_id=str(widget.pk), published_at__isnull=False
    ).exists()


def test_a_commit_notifies_once_and_a_rollback_not_at_all():
    listener = _admin()
    try:
        with listener.cursor() as cursor:
            cursor.execute(f"LISTEN {CHANNEL}")
        with pytest.raises(RuntimeError), transaction.atomic():
            Widget.objects.create(name="rolled back")
            raise RuntimeError
        with transaction.atomic():
            for i in range(3):
                Widget.objects.create(name=f"w{i}")  # three events, one transaction
        received = []

        def notified() -> bool:
            select.select([listener], [], [], 0.1)
            listener.poll()
            received.extend(listener.notifies)
            listener.notifies.clear()
            return bool(received)

        wait_until(notified, timeout=10, message="the commit's notification")
        # Notifications come in commit order: the rollback's would have come first.
        assert [n.channel for n in received] == [CHANNEL]
    finally:
        listener.close()


def test_the_loop_publishes_a_commit_it_was_woken_for(loop):
    running = loop()
    wait_until(lambda: running.listener_pid, timeout=10, message="the loop to listen")
    widget = Widget.objects.create(name="woken")
    wait_until(lambda: _published(widget), timeout=10, message="the loop to publish it")


def test_the_loop_starts_over_when_its_listening_connection_is_killed(loop):
    running = loop()
    wait_until(lambda: running.listener_pid, timeout=10, message="the loop to listen")
    killed = running.listener_pid
    admin = _admin()
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [killed])
    finally:
        admin.close()
    wait_until(
        lambda: running.listener_pid not in (None, killed),
        timeout=15,
        message="the loop to listen again",
    )
    widget = Widget.objects.create(name="after the kill")
    wait_until(lambda: _published(widget), timeout=10, message="the loop to publish it")


def test_the_celery_worker_runs_the_loop_unless_listen_is_off(fresh_streams, settings):
    step = RelayLoopStep(SimpleNamespace())
    step.start(None)
    try:
        assert step.loop is not None
        wait_until(lambda: step.loop.listener_pid, timeout=10, message="the loop to listen")
        widget = Widget.objects.create(name="by the worker's loop")
        wait_until(lambda: _published(widget), timeout=10, message="the loop to publish it")
    finally:
        step.stop(None)
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "RELAY_LISTEN": False}
    step.start(None)
    assert step.loop is None
