"""The event pipeline's verdict (`shared_events.core.status`, `manage.py events_status`): healthy
only when nothing is failing, stale, stuck or dead-lettered and NATS answers."""

import json
import signal
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from shared_events.core.consumer.models import DeadLetter
from shared_events.core.outbox.models import OutboxEvent
from shared_events.core.outbox.relay import relay_batch, relay_pending
from shared_events.core.status import events_status, problems
from shared_events.core.testing import wait_until
from tests.runner_thread import RunnerThread
from tests.testapp.models import Widget, WidgetReplica


def healthy_status(**changes) -> dict:
    status = {
        "outbox": {"pending": 3, "failing": 0, "oldest_pending_age_seconds": 0.4},
        "consumers": {
            "TESTING": {
                "pending": 10,
                "unacked": 5,
                "redelivered": 0,
                "ack_floor": 90,
                "progressing": True,
            }
        },
        "dead_letters": {"dead": 0},
        "nats": {"answers": True},
    }
    for key, value in changes.items():
        status[key] = {**status[key], **value}
    return status


def verdict(status: dict) -> list[str]:
    return problems(status, stale_after=60, sample_seconds=2)


def test_a_pipeline_that_moves_is_healthy_even_with_a_backlog():
    assert verdict(healthy_status()) == []
    idle = {
        "TESTING": {
            "pending": 0,
            "unacked": 0,
            "redelivered": 0,
            "ack_floor": 90,
            "progressing": None,
        }
    }
    assert verdict(healthy_status(consumers=idle)) == []


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        (
            {"outbox": {"failing": 2, "last_error": "TransportError: no ack"}},
            "outbox: 2 events failing to publish (TransportError: no ack)",
        ),
        ({"outbox": {"oldest_pending_age_seconds": 75.0}}, "oldest unpublished event 75.0 s old"),
        (
            {
                "consumers": {
                    "TESTING": {
                        "pending": 4,
                        "unacked": 0,
                        "redelivered": 0,
                        "ack_floor": 9,
                        "progressing": False,
                    }
                }
            },
            "consumer TESTING: lag 4 not shrinking",
        ),
        (
            {"consumers": {"TESTING": {"error": "NotFoundError: consumer not found"}}},
            "consumer TESTING: NotFoundError",
        ),
        ({"dead_letters": {"dead": 1}}, "dead letters: 1"),
        (
            {"nats": {"answers": False, "error": "NATS did not answer a ping"}},
            "nats: NATS did not answer a ping",
        ),
    ],
)
def test_each_problem_makes_it_unhealthy_and_says_why(changes, said):
    found = verdict(healthy_status(**changes))
    assert len(found) == 1 and said in found[0], found


@pytest.mark.django_db(transaction=True)
def test_failing_rows_and_dead_letters_are_reported_by_the_command(own_nats_server, capsys):
    own_nats_server.kill()
    Widget.objects.create(name="held")
    assert relay_batch().failed == 1
    DeadLetter.objects.create(
        stream="TESTING",
        stream_seq=1,
        subject="testing.widget.x",
        event_type="testing.widget.created",
        payload=b"{}",
        error="boom",
        deliveries=1,
    )
    with pytest.raises(SystemExit) as exited:
        call_command("events_status", "--json", "--sample-seconds", "0.2")
    assert exited.value.code == 1
    status = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert status["healthy"] is False
    said = " | ".join(status["problems"])
    assert "outbox: 1 events failing to publish" in said
    assert "dead letters: 1" in said and "nats: cannot connect" in said


@pytest.mark.django_db(transaction=True)
def test_an_old_unpublished_row_is_stale(fresh_streams, settings):
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "OUTBOX_STALE_AFTER_SECONDS": 30}
    Widget.objects.create(name="old")
    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(seconds=45))
    status = events_status(sample_seconds=0.2)
    assert any("oldest unpublished event" in p for p in status["problems"]), status


@pytest.mark.django_db(transaction=True)
def test_a_hung_nats_does_not_answer(own_nats_server):
    own_nats_server.proc.send_signal(signal.SIGSTOP)
    try:
        status = events_status(sample_seconds=0.2)
    finally:
        own_nats_server.proc.send_signal(signal.SIGCONT)
    assert status["nats"]["answers"] is False and not status["healthy"], status


@pytest.mark.django_db(transaction=True)
def test_a_lag_that_does_not_shrink_is_a_problem_and_one_that_does_is_not(fresh_streams):
    Widget.objects.create(name="first")
    relay_pending()
    with RunnerThread():  # creates the durable consumer, takes the first event
        wait_until(lambda: WidgetReplica.objects.exists(), timeout=15, message="replica")
    assert events_status(sample_seconds=0.2)["healthy"]
    for i in range(3):  # nobody consumes these
        Widget.objects.create(name=f"waiting{i}")
    relay_pending()
    status = events_status(sample_seconds=0.5)
    assert status["consumers"]["TESTING"]["progressing"] is False
    assert status["problems"] == [
        "consumer TESTING: lag 3 not shrinking (nothing acknowledged in 0.5 s)"
    ], status
    with RunnerThread():
        wait_until(lambda: WidgetReplica.objects.count() == 4, timeout=15, message="replicas")
        wait_until(
            lambda: events_status(sample_seconds=0.2)["healthy"],
            timeout=15,
            message="the lag to be taken and the verdict healthy again",
        )
