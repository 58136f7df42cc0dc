"""Outbox -> relay -> JetStream -> consumer -> replica, all real, in one process."""

import json
import uuid

import pytest

from shared_events.core.consumer import registry
from shared_events.core.consumer.models import DeadLetter, ProcessedEvent
from shared_events.core.consumer.rebuild import rebuild_replicas
from shared_events.core.consumer.registry import subscriptions
from shared_events.core.outbox.models import OutboxEvent
from shared_events.core.outbox.relay import relay_pending
from shared_events.core.partitions import durable_name
from shared_events.core.testing import wait_until
from tests.natsutil import publish_raw, stream_messages
from tests.runner_thread import RunnerThread
from tests.testapp import consumers
from tests.testapp.models import Widget, WidgetReplica

pytestmark = pytest.mark.django_db(transaction=True)


def replicas_match_sources() -> bool:
    source = {str(w.pk): (w.name, w.color, w.version) for w in Widget.objects.all()}
    replica = {
        str(r.pk): (r.name, r.color, r.source_version)
        for r in WidgetReplica.objects.filter(is_deleted=False)
    }
    return source == replica


def test_the_consumer_follows_only_the_subjects_its_handlers_need():
    assert subscriptions() == {"TESTING": ["testing.widget.*"]}
    assert durable_name("voting", "ACCOUNTS") == "voting-accounts"


def test_changes_flow_to_the_replica_and_deletions_become_tombstones(fresh_streams):
    with RunnerThread():
        widgets = [Widget.objects.create(name=f"w{i}") for i in range(20)]
        widgets[0].color = "green"
        widgets[0].save()
        gone = widgets[1].pk
        widgets[1].delete()
        relay_pending()
        wait_until(replicas_match_sources, timeout=10, message="replicas to match")
        assert WidgetReplica.objects.get(pk=gone).is_deleted


def test_a_poison_message_is_dead_lettered_while_later_messages_flow(fresh_streams):
    consumers.FAILING_NAMES.add("poison")
    try:
        with RunnerThread():
            poison = Widget.objects.create(name="poison")
            relay_pending()
            later = [Widget.objects.create(name=f"later{i}") for i in range(5)]
            relay_pending()
            wait_until(
                lambda: WidgetReplica.objects.filter(pk__in=[w.pk for w in later]).count() == 5,
                timeout=10,
                message="later messages applied",
            )
            wait_until(
                lambda: DeadLetter.objects.filter(event_type="testing.widget.created").exists(),
                timeout=10,
                message="the dead letter",
            )
            dead = DeadLetter.objects.get()
            assert dead.deliveries == 3 and str(poison.pk) in dead.subject
            assert not WidgetReplica.objects.filter(pk=poison.pk).exists()
    finally:
        consumers.FAILING_NAMES.clear()


def test_duplicates_and_stale_versions_injected_into_nats_have_no_effect(
    fresh_streams, monkeypatch
):
    handed: list[str] = []  # the id of every event a handler was given

    def spy(events):
        handed.extend(str(e.envelope.id) for e in events)
        consumers.widget_changed(events)

    for name in consumers.WIDGET_TYPES:
        monkeypatch.setitem(registry._handlers, name, spy)
    with RunnerThread():
        widget = Widget.objects.create(name="w")
        widget.color = "blue"
        widget.save()
        relay_pending()
        wait_until(replicas_match_sources, timeout=10, message="replica")
        current = OutboxEvent.objects.filter(aggregate_id=str(widget.pk)).order_by("seq").last()
        current_id = str(current.event_id)
        assert current.aggregate_version == widget.version == 2 and handed.count(current_id) == 1
        applied = ProcessedEvent.objects.get(event_id=current.event_id)
        replica = WidgetReplica.objects.get(pk=widget.pk)
        # A stale state (version 1) under a new event id, and the current one again.
        stale = {
            "id": str(uuid.uuid4()),
            "type": "testing.widget.updated",
            "schema_version": 1,
            "aggregate_id": str(widget.pk),
            "version": 1,
            "occurred_at": "2026-01-01T00:00:00+00:00",
            "data": {"id": str(widget.pk), "name": "w", "color": "stale"},
        }
        publish_raw(fresh_streams, f"testing.widget.{widget.pk}", json.dumps(stale).encode())
        # The current event byte for byte (same event id), under a Nats-Msg-Id of its own so
        # that JetStream's duplicate window does not drop it before the consumer sees it.
        publish_raw(
            fresh_streams, current.subject, bytes(current.payload), msg_id=str(uuid.uuid4())
        )
        copies = [
            m
            for m in stream_messages(fresh_streams, "TESTING")
            if m["envelope"]["id"] == current_id
        ]
        assert len(copies) == 2 and copies[0]["msg_id"] != copies[1]["msg_id"]
        marker = Widget.objects.create(name="marker")  # applied after the injected ones
        relay_pending()
        wait_until(
            lambda: WidgetReplica.objects.filter(pk=marker.pk).exists(),
            timeout=10,
            message="marker",
        )
        assert replicas_match_sources()
        # The stale one reached the handler and its version guard; the duplicate stopped at
        # the inbox: never handed to a handler, its inbox row still the first copy's.
        assert handed.count(stale["id"]) == 1
        assert handed.count(current_id) == 1
        assert ProcessedEvent.objects.get(event_id=current.event_id).stream_seq == (
            applied.stream_seq
        )
        assert WidgetReplica.objects.get(pk=widget.pk).replicated_at == replica.replicated_at
        assert not DeadLetter.objects.exists()


def test_replicas_rebuild_from_the_streams_into_an_empty_database(fresh_streams):
    widgets = [Widget.objects.create(name=f"w{i}") for i in range(30)]
    for widget in widgets[:10]:
        widget.color = "black"
        widget.save()
    widgets[-1].delete()
    relay_pending()
    assert not WidgetReplica.objects.exists()
    report = rebuild_replicas()
    assert report.failed == 0 and report.read == 30  # one retained state per aggregate here
    assert replicas_match_sources()
    # Running it again changes nothing.
    ProcessedEvent.objects.all().delete()
    rebuild_replicas()
    assert replicas_match_sources()


def test_a_consumer_restarted_mid_stream_loses_and_duplicates_nothing(fresh_streams):
    widgets = [Widget.objects.create(name=f"w{i}") for i in range(200)]
    relay_pending()
    with RunnerThread() as first:
        wait_until(lambda: WidgetReplica.objects.count() > 0, timeout=10, message="a start")
    applied_before_stop = first.runner.applied
    for widget in widgets[:50]:
        widget.color = "after-restart"
        widget.save()
    relay_pending()
    with RunnerThread():
        wait_until(replicas_match_sources, timeout=20, message="convergence after restart")
    assert applied_before_stop > 0
    assert ProcessedEvent.objects.count() == 250


def test_status_shows_backlog_lag_and_dead_letters(fresh_streams):
    from shared_events.core.status import events_status

    Widget.objects.create(name="pending")
    status = events_status()
    assert status["outbox"]["pending"] == 1
    assert status["outbox"]["oldest_pending_age_seconds"] >= 0
    assert "error" in status["consumers"]["TESTING"]  # no consumer has run yet
    relay_pending()
    with RunnerThread():
        wait_until(lambda: WidgetReplica.objects.exists(), timeout=10, message="replica")
    status = events_status()
    assert status["outbox"] == {"pending": 0, "failing": 0, "oldest_pending_age_seconds": None}
    assert status["consumers"]["TESTING"]["pending"] == 0
    assert status["dead_letters"] == {"dead": 0}


def test_a_batch_whose_commit_is_lost_is_not_acked_and_comes_again(fresh_streams, monkeypatch):
    """Ack only after commit: the first batch is applied, then its transaction rolled back
    as a lost commit would leave it. Acked anyway, it would never come again."""
    from django.db import transaction

    from shared_events.core.consumer import runner

    lost: list[int] = []

    def commit_lost_once(messages):
        if lost:
            return runner_apply(messages)
        with transaction.atomic():
            runner_apply(messages)
            lost.append(len(messages))
            raise RuntimeError("the commit was lost")

    runner_apply = runner.apply_batch
    monkeypatch.setattr(runner, "apply_batch", commit_lost_once)
    widgets = [Widget.objects.create(name=f"w{i}") for i in range(20)]
    relay_pending()
    with RunnerThread():
        wait_until(replicas_match_sources, timeout=20, message="the batch applied after all")
    assert lost and lost[0] > 0
    assert ProcessedEvent.objects.count() == len(widgets)
