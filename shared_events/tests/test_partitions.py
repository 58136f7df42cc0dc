"""Partitions of the aggregates (`shared_events.core.partitions`): which durable consumers a
process runs, the stream's subject transform on a real nats-server, an existing stream
upgraded in place, and one process owning every partition."""

import asyncio
import collections
import socket

import nats
import pytest
from django.core.exceptions import ImproperlyConfigured

from shared_events.core.consumer.models import ProcessedEvent
from shared_events.core.consumer.rebuild import rebuild_replicas
from shared_events.core.outbox import relay
from shared_events.core.outbox.relay import relay_pending
from shared_events.core.partitions import (
    consumer_slots,
    owned_partitions,
    partition_filter,
    replay_filters,
    replica_index,
    subject_transform,
)
from shared_events.core.status import events_status
from shared_events.core.testing import wait_until
from tests.natsutil import stream_config, stream_messages
from tests.runner_thread import RunnerThread
from tests.testapp.models import Widget, WidgetReplica

PLAN = {"ACCOUNTS": ["accounts.account.*"], "POLLS": ["polls.poll.*", "polls.result.*"]}


def test_one_partition_is_the_consumer_of_before():
    slots = consumer_slots("voting", PLAN, partitions=1, owned=[0])
    assert [(s.stream, s.durable, s.subjects, s.label) for s in slots] == [
        ("ACCOUNTS", "voting-accounts", ["accounts.account.*"], "ACCOUNTS"),
        ("POLLS", "voting-polls", ["polls.poll.*", "polls.result.*"], "POLLS"),
    ]
    assert subject_transform("accounts", 1) is None


def test_each_partition_has_its_durable_and_partition_zero_keeps_the_old_one():
    first = consumer_slots("voting", PLAN, partitions=3, owned=[0, 2])
    assert [(s.durable, s.subjects) for s in first if s.stream == "POLLS"] == [
        ("voting-polls", ["polls.poll.*", "polls.result.*"]),
        ("voting-polls-p0", ["polls.poll.0.*", "polls.result.0.*"]),
        ("voting-polls-p2", ["polls.poll.2.*", "polls.result.2.*"]),
    ]
    second = consumer_slots("voting", PLAN, partitions=3, owned=[1])
    assert [(s.durable, s.label) for s in second] == [
        ("voting-accounts-p1", "ACCOUNTS/p1"),
        ("voting-polls-p1", "POLLS/p1"),
    ]


def test_replicas_share_the_partitions_without_overlap():
    owners = [owned_partitions(8, 3, i) for i in range(3)]
    assert owners == [[0, 3, 6], [1, 4, 7], [2, 5]]
    assert owned_partitions(4, 1, 0) == [0, 1, 2, 3]  # one process owns them all
    with pytest.raises(ImproperlyConfigured, match="would own no partition"):
        owned_partitions(2, 3, 2)
    with pytest.raises(ImproperlyConfigured, match="CONSUMER_REPLICA_INDEX 2"):
        owned_partitions(4, 2, 2)


def test_the_index_comes_from_the_setting_or_the_statefulset_ordinal(settings, monkeypatch):
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "CONSUMER_REPLICA_INDEX": None}
    monkeypatch.setattr(socket, "gethostname", lambda: "voting-consumer-1")
    assert replica_index(2) == 1
    assert replica_index(1) == 0  # one replica owns everything, whatever its name
    monkeypatch.setattr(socket, "gethostname", lambda: "laptop")
    with pytest.raises(ImproperlyConfigured, match="ordinal"):
        replica_index(2)
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "CONSUMER_REPLICA_INDEX": 0}
    assert replica_index(2) == 0


def test_filters_and_the_replay_cover_both_layouts():
    assert partition_filter("accounts.epoch_stake.*", 5) == "accounts.epoch_stake.5.*"
    assert replay_filters(["accounts.account.*"]) == ["accounts.account.*", "accounts.account.*.*"]
    with pytest.raises(ValueError):
        partition_filter("accounts.>", 0)


def _partitioned(settings, partitions: int) -> None:
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "STREAM_PARTITIONS": partitions}
    relay._publisher = None  # the next relay connects and declares the stream anew


def _subjects_by_widget(url: str) -> dict[str, set[str]]:
    out = collections.defaultdict(set)
    for m in stream_messages(url, "TESTING"):
        out[m["envelope"]["aggregate_id"]].add(m["subject"])
    return out


def _consumer_acked(url: str, durable: str) -> int:
    async def info() -> int:
        nc = await nats.connect(url)
        try:
            found = await nc.jetstream().consumer_info("TESTING", durable)
            return found.ack_floor.stream_seq
        finally:
            await nc.close()

    return asyncio.run(info())


@pytest.mark.django_db(transaction=True)
def test_an_existing_stream_is_partitioned_in_place_and_one_process_applies_both_layouts(
    fresh_streams, settings
):
    # Before: one partition, as every existing deployment runs.
    before = [Widget.objects.create(name=f"old{i}") for i in range(10)]
    relay_pending()
    assert stream_config(fresh_streams, "TESTING").subject_transform is None

    _partitioned(settings, 2)
    during = [Widget.objects.create(name=f"new{i}") for i in range(30)]
    relay_pending()
    for widget in before[:5] + during[:10]:
        widget.color = "blue"
        widget.save()
    relay_pending()
    transform = stream_config(fresh_streams, "TESTING").subject_transform
    assert (transform.src, transform.dest) == subject_transform("testing", 2)

    subjects = _subjects_by_widget(fresh_streams)
    # Stored before the transform: as published; after: under one partition per aggregate.
    for widget in before[5:]:
        assert subjects[str(widget.pk)] == {f"testing.widget.{widget.pk}"}
    for widget in during:
        (subject,) = subjects[str(widget.pk)]
        assert subject.split(".")[2] in ("0", "1")
    for widget in before[:5]:
        assert len(subjects[str(widget.pk)]) == 2  # the old layout and its partition's
    assert {s.split(".")[2] for w in during for s in subjects[str(w.pk)]} == {"0", "1"}

    # One process (CONSUMER_REPLICAS 1) owns both partitions and the durable of before.
    with RunnerThread():
        wait_until(_replicas_match, timeout=15, message="replicas to match both layouts")
    assert _consumer_acked(fresh_streams, "testsvc-testing") > 0
    assert _consumer_acked(fresh_streams, "testsvc-testing-p0") > 0
    assert _consumer_acked(fresh_streams, "testsvc-testing-p1") > 0
    status = events_status(sample_seconds=0.1)
    assert set(status["consumers"]) == {"TESTING", "TESTING/p0", "TESTING/p1"}
    assert status["healthy"], status["problems"]

    # A rebuild reads both layouts.
    WidgetReplica.objects.all().delete()
    ProcessedEvent.objects.all().delete()
    report = rebuild_replicas()
    assert report.failed == 0 and report.read == len(stream_messages(fresh_streams, "TESTING"))
    assert _replicas_match()

    # Back to one partition: the transform goes, new messages are stored as published.
    _partitioned(settings, 1)
    Widget.objects.create(name="after")
    relay_pending()
    assert stream_config(fresh_streams, "TESTING").subject_transform is None
    assert stream_messages(fresh_streams, "TESTING")[-1]["subject"].count(".") == 2


def _replicas_match() -> bool:
    source = {str(w.pk): (w.name, w.color, w.version) for w in Widget.objects.all()}
    replica = {
        str(r.pk): (r.name, r.color, r.source_version)
        for r in WidgetReplica.objects.filter(is_deleted=False)
    }
    return source == replica
