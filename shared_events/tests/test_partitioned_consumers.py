"""Two real consumer processes of one service, each owning one partition of the aggregates,
applying a backlog from a real nats-server to a real PostgreSQL: no replica's version ever goes
back, every replica converges, each event is applied once; and one process SIGKILLed in the
middle of the backlog leaves its partition waiting (nobody else pulls it) until it is started
again, then converges too."""

import asyncio
import collections
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nats
import pytest
from django.conf import settings as django_settings
from django.db import connection

from shared_events.core.consumer.models import ProcessedEvent
from shared_events.core.outbox import relay
from shared_events.core.outbox.models import OutboxEvent
from shared_events.core.outbox.relay import relay_pending
from shared_events.core.testing import wait_until
from tests.natsutil import publish_raw, stream_messages
from tests.testapp.models import Widget, WidgetReplica

pytestmark = pytest.mark.django_db(transaction=True)

PARTITIONS = 2
WIDGETS = 200
ROUNDS = 4  # states per widget in the stream, each round relayed on its own
PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip(
            "several consumer processes are tested on PostgreSQL (SHARED_EVENTS_DATABASE_URL)"
        )


@pytest.fixture
def version_audit(postgres):
    """Every change of a replica row, written by a trigger in the applying transaction: what
    the consumers did, not what the table shows at the end."""
    table = WidgetReplica._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE partition_audit (widget text, old_version bigint, new_version bigint,"
            " seq bigserial)"
        )
        cursor.execute(
            """CREATE FUNCTION partition_audit_row() RETURNS trigger AS $$
            BEGIN
              INSERT INTO partition_audit (widget, old_version, new_version)
              VALUES (NEW.id::text,
                      CASE WHEN TG_OP = 'UPDATE' THEN OLD.source_version END,
                      NEW.source_version);
              RETURN NEW;
            END $$ LANGUAGE plpgsql"""
        )
        cursor.execute(
            f"CREATE TRIGGER partition_audit AFTER INSERT OR UPDATE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION partition_audit_row()"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS partition_audit ON {table}")
        cursor.execute("DROP FUNCTION IF EXISTS partition_audit_row()")
        cursor.execute("DROP TABLE IF EXISTS partition_audit")


def _audit() -> list[tuple[str, int | None, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT widget, old_version, new_version FROM partition_audit ORDER BY seq")
        return list(cursor.fetchall())


class ConsumerProcess:
    def __init__(self, index: int, nats_url: str, log_dir: Path) -> None:
        self.index = index
        self.log = log_dir / f"consumer-{index}.log"
        self.options = {
            "database": {"NAME": django_settings.DATABASES["default"]["NAME"]},
            "shared_events": {
                "NATS_URL": nats_url,
                "STREAM_PARTITIONS": PARTITIONS,
                "CONSUMER_REPLICAS": PARTITIONS,
                "CONSUMER_REPLICA_INDEX": index,
                # Small batches: the backlog takes many, so a kill lands in the middle of it.
                "CONSUMER_BATCH_SIZE": 10,
                # What a killed process had in hand comes back soon to its successor.
                "CONSUMER_ACK_WAIT_SECONDS": 2.0,
            },
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> "ConsumerProcess":
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.consumer_process", json.dumps(self.options)],
                cwd=PROJECT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        return self

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return None

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def consumers(fresh_streams, tmp_path, version_audit):
    started = [ConsumerProcess(i, fresh_streams, tmp_path) for i in range(PARTITIONS)]
    yield started
    for process in started:
        process.stop()


def _partitions(settings, partitions: int) -> None:
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "STREAM_PARTITIONS": partitions}
    relay._publisher = None  # the relay declares the stream anew when it connects


def _backlog(settings, url: str) -> None:
    """Every widget in ROUNDS states, each round relayed apart, so the stream holds the states
    of the widgets interleaved, several per widget, some ending in a deletion. The first two
    rounds are stored before the stream had partitions (an upgrade): the process owning
    partition 0 applies them with the durable of before while the other applies the later
    states of its widgets. Last come stale states, version 1 again under new event ids (a relay
    that stalled between claim and publish): the version guard must refuse them."""
    _partitions(settings, 1)
    widgets = [Widget.objects.create(name=f"w{i}") for i in range(WIDGETS)]
    relay_pending()
    for round_ in range(1, ROUNDS):
        if round_ == 2:
            _partitions(settings, PARTITIONS)
        for widget in widgets:
            widget.color = f"c{round_}"
            widget.save()
        relay_pending()
    for widget in widgets[::10]:
        widget.delete()
    relay_pending()
    for first in OutboxEvent.objects.filter(aggregate_version=1)[::3]:
        stale = json.loads(bytes(first.payload))
        stale["id"] = str(uuid.uuid4())
        publish_raw(url, first.subject, json.dumps(stale).encode(), msg_id=stale["id"])


def _converged() -> bool:
    source = {str(w.pk): (w.name, w.color, w.version) for w in Widget.objects.all()}
    replica = {
        str(r.pk): (r.name, r.color, r.source_version)
        for r in WidgetReplica.objects.filter(is_deleted=False)
    }
    return source == replica and WidgetReplica.objects.filter(is_deleted=True).count() == len(
        range(0, WIDGETS, 10)
    )


def _consumer(url: str, durable: str) -> tuple[int, int, int]:
    """(ack floor, pending, unacked) of a durable consumer of the TESTING stream."""

    async def info() -> tuple[int, int, int]:
        nc = await nats.connect(url)
        try:
            found = await nc.jetstream().consumer_info("TESTING", durable)
            return found.ack_floor.stream_seq, found.num_pending, found.num_ack_pending
        finally:
            await nc.close()

    return asyncio.run(info())


# The durable of before (the first rounds, stored unpartitioned) and one per partition.
DURABLES = ("testsvc-testing", *(f"testsvc-testing-p{p}" for p in range(PARTITIONS)))


def _drained(url: str) -> bool:
    return all(_consumer(url, durable)[1:] == (0, 0) for durable in DURABLES)


def _assert_applied_once_in_order(url: str) -> None:
    messages = stream_messages(url, "TESTING")
    # Every aggregate's partitioned states in exactly one partition, and both partitions used.
    partitions = collections.defaultdict(set)
    for m in messages:
        if m["subject"].count(".") == 3:
            partitions[m["envelope"]["aggregate_id"]].add(m["subject"].split(".")[2])
    assert len(partitions) == WIDGETS and all(len(p) == 1 for p in partitions.values())
    assert set().union(*partitions.values()) == {str(p) for p in range(PARTITIONS)}
    # Each event in the inbox once (its key), every one of them.
    assert set(ProcessedEvent.objects.values_list("event_id", flat=True)) == {
        uuid.UUID(m["envelope"]["id"]) for m in messages
    }
    # No replica's version ever went back, and no version was applied twice.
    applied = collections.defaultdict(list)
    for widget, old, new in _audit():
        assert old is None or new > old, f"widget {widget}: version {old} -> {new}"
        applied[widget].append(new)
    for widget, versions in applied.items():
        assert versions == sorted(set(versions)), f"widget {widget}: applied {versions}"
    assert len(applied) == WIDGETS


def test_two_processes_share_a_backlog_each_event_applied_once_in_order(consumers, settings):
    url = consumers[0].options["shared_events"]["NATS_URL"]
    _backlog(settings, url)
    for process in consumers:
        process.start()
    wait_until(_converged, timeout=90, message="every replica to converge")
    # Older and stale states change nothing, so the replicas converge before all are acked.
    wait_until(lambda: _drained(url), timeout=30, message="every durable to be acked")
    for durable in DURABLES:
        assert _consumer(url, durable)[0] > 0, durable
    _assert_applied_once_in_order(url)
    for process in consumers:
        assert process.stop() == 0, process.text()
    # Each ran the durables of its own partition only; the durable of before went with p0.
    assert "testsvc-testing-p0" in consumers[0].text()
    assert "testsvc-testing-p1" not in consumers[0].text()
    assert "testsvc-testing-p1" in consumers[1].text()
    assert "testsvc-testing-p0" not in consumers[1].text()


def test_a_process_killed_in_the_backlog_is_replaced_and_its_partition_converges(
    consumers, settings
):
    url = consumers[0].options["shared_events"]["NATS_URL"]
    _backlog(settings, url)
    total = len(stream_messages(url, "TESTING"))
    first, second = (process.start() for process in consumers)
    wait_until(
        lambda: _consumer(url, "testsvc-testing-p1")[0] > 0,
        timeout=60,
        message="the second process to apply some of its partition",
    )
    second.kill()
    floor, pending, unacked = _consumer(url, "testsvc-testing-p1")
    assert pending + unacked > 0, "the backlog was done before the kill: make it larger"
    assert ProcessedEvent.objects.count() < total
    # The first process finishes its own partition; nobody pulls the dead one's.
    wait_until(
        lambda: _consumer(url, "testsvc-testing-p0")[1:] == (0, 0),
        timeout=60,
        message="the first process to finish its partition",
    )
    time.sleep(1.0)
    assert _consumer(url, "testsvc-testing-p1")[0] == floor
    # Started again with the same index (a StatefulSet's pod with the same ordinal).
    second.start()
    wait_until(_converged, timeout=90, message="every replica to converge after the restart")
    wait_until(lambda: _drained(url), timeout=30, message="every durable to be acked")
    _assert_applied_once_in_order(url)
    assert first.proc is not None and first.proc.poll() is None, first.text()
