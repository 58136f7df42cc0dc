"""Relay guarantees against a real NATS JetStream server."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from shared_events.core import testing
from shared_events.core.outbox import relay
from shared_events.core.outbox.models import OutboxEvent
from shared_events.core.outbox.relay import claim_batch, purge_published, relay_batch, relay_pending
from shared_events.core.testing import wait_until
from tests.natsutil import stream_config, stream_messages
from tests.testapp.models import Widget

pytestmark = pytest.mark.django_db(transaction=True)


def test_committed_events_reach_the_stream_once_with_their_id_as_msg_id(fresh_streams):
    widgets = [Widget.objects.create(name=f"w{i}") for i in range(5)]
    result, _ = relay_pending()
    assert result.published == 5
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    messages = stream_messages(fresh_streams, "TESTING")
    assert sorted(m["subject"] for m in messages) == sorted(
        f"testing.widget.{w.pk}" for w in widgets
    )
    for m in messages:
        assert m["msg_id"] == m["envelope"]["id"]
    assert relay_pending()[0].claimed == 0


def test_only_the_newest_state_of_an_aggregate_is_sent(fresh_streams):
    widget = Widget.objects.create(name="w")
    for color in ("a", "b", "c", "d"):
        widget.color = color
        widget.save()
    result = relay_batch()
    assert (result.published, result.superseded) == (1, 4)
    [message] = stream_messages(fresh_streams, "TESTING")
    assert message["envelope"]["version"] == 5
    assert message["envelope"]["data"]["color"] == "d"


def test_a_change_committed_while_nats_is_down_is_delivered_when_it_is_back(own_nats_server):
    own_nats_server.kill()
    widget = Widget.objects.create(name="offline")  # the write itself does not need NATS

    result = relay_batch()
    assert result.failed == 1
    row = OutboxEvent.objects.get(aggregate_id=str(widget.pk))
    assert row.published_at is None and row.attempts == 1 and row.last_error
    assert row.next_attempt_at > timezone.now() - timedelta(seconds=1)

    own_nats_server.start()
    wait_until(
        lambda: relay_pending()[0].published or OutboxEvent.objects.get(pk=row.pk).published_at,
        timeout=15,
        message="the backlog to drain",
    )
    [message] = stream_messages(own_nats_server.url, "TESTING")
    assert message["envelope"]["aggregate_id"] == str(widget.pk)


def test_failures_back_off_and_the_cap_holds(own_nats_server, settings):
    settings.SHARED_EVENTS = {
        **settings.SHARED_EVENTS,
        "RELAY_BACKOFF_BASE_SECONDS": 1,
        "RELAY_BACKOFF_CAP_SECONDS": 4,
    }
    own_nats_server.kill()
    Widget.objects.create(name="w")
    delays = []
    for _ in range(5):
        OutboxEvent.objects.update(next_attempt_at=timezone.now())
        before = timezone.now()
        relay_batch()
        row = OutboxEvent.objects.get()
        delays.append(round((row.next_attempt_at - before).total_seconds()))
    assert delays == [1, 2, 4, 4, 4]


def test_concurrent_relays_publish_every_event_exactly_once(fresh_streams, settings):
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "RELAY_BATCH_SIZE": 20}
    widgets = Widget.objects.bulk_create([Widget(name=f"w{i}") for i in range(300)])
    totals = []
    errors = []

    def run() -> None:
        try:
            totals.append(relay_pending(time_budget=60)[0].published)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sum(totals) == 300, totals  # each row claimed by one relay only
    messages = stream_messages(fresh_streams, "TESTING")
    assert len(messages) == 300
    assert {m["envelope"]["aggregate_id"] for m in messages} == {str(w.pk) for w in widgets}


def test_a_relay_that_died_before_marking_causes_no_duplicate(fresh_streams):
    Widget.objects.create(name="w")
    token, rows = claim_batch(10)
    # It published, then died before marking the rows.
    relay.get_publisher().publish_batch_start(
        [
            relay.OutgoingMessage(r.subject, bytes(r.payload), str(r.event_id), r.event_type)
            for r in rows
        ],
        timeout=5,
    ).result()
    assert relay_batch().claimed == 0  # still leased to the dead relay
    OutboxEvent.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert relay_batch().published == 1  # the lease expired: published again...
    assert len(stream_messages(fresh_streams, "TESTING")) == 1  # ...and dropped as a duplicate


class _Killed(Exception):
    pass


def test_the_after_publish_hook_strikes_between_publish_and_mark_and_only_when_set(
    fresh_streams, monkeypatch, settings
):
    """The seam the system tests inject their relay faults through (test_faults.py, 3)."""

    def fake_kill(pid, sig):
        raise _Killed(sig)

    monkeypatch.setattr(testing.os, "kill", fake_kill)
    Widget.objects.create(name="w")
    settings.SHARED_EVENTS = {
        **settings.SHARED_EVENTS,
        "RELAY_AFTER_PUBLISH": "shared_events.core.testing.kill_after_publish",
    }
    with pytest.raises(_Killed):
        relay_batch()
    # JetStream has it, the row is still claimed and unmarked: what a real SIGKILL leaves.
    assert len(stream_messages(fresh_streams, "TESTING")) == 1
    row = OutboxEvent.objects.get()
    assert row.published_at is None and row.claim_token is not None
    # Off (the default): the lease runs out, it is sent again, JetStream drops the duplicate.
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "RELAY_AFTER_PUBLISH": None}
    OutboxEvent.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert relay_batch().published == 1
    assert len(stream_messages(fresh_streams, "TESTING")) == 1


def test_published_rows_are_purged_after_retention_and_pending_ones_never(fresh_streams):
    Widget.objects.create(name="old")
    relay_pending()
    OutboxEvent.objects.update(published_at=timezone.now() - timedelta(days=30))
    Widget.objects.create(name="pending")
    assert purge_published(older_than=timedelta(days=7)) == 1
    assert OutboxEvent.objects.get().published_at is None


def test_the_stream_is_created_with_the_designed_limits_and_updated_idempotently(
    fresh_streams, settings
):
    Widget.objects.create(name="w")
    relay_pending()
    config = stream_config(fresh_streams, "TESTING")
    assert config.subjects == ["testing.>"]
    assert getattr(config.storage, "value", config.storage) == "file"
    assert config.duplicate_window == 20 * 60
    assert config.max_msgs_per_subject == 5

    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "STREAM_MAX_MSGS_PER_SUBJECT": 3}
    relay._publisher = None
    Widget.objects.create(name="w2")
    relay_pending()
    assert stream_config(fresh_streams, "TESTING").max_msgs_per_subject == 3
    assert len(stream_messages(fresh_streams, "TESTING")) == 2  # nothing lost by the update
