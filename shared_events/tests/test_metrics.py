"""The event pipeline's metrics (core.metrics): recorded by the relay and the consumer as
things happen, read from the database and JetStream when the beat is scraped, and served on a
port of their own. Values are read from prometheus-client's registry of this process, before
and after, since counters only go up."""

import json
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from shared_events.core import metrics
from shared_events.core.consumer.apply import Action, IncomingMessage, apply_batch
from shared_events.core.metrics_port import RefreshedRegistry, serve_metrics_port
from shared_events.core.metrics_scrape import refresh_jetstream_gauges, refresh_pipeline_gauges
from shared_events.core.outbox import relay
from shared_events.core.outbox.models import OutboxEvent
from shared_events.core.outbox.relay import relay_batch, relay_pending
from shared_events.core.testing import free_port, wait_until
from tests.runner_thread import RunnerThread
from tests.testapp import consumers
from tests.testapp.models import Widget

SERVICE = {"service": "testsvc"}
STREAM = {"service": "testsvc", "stream": "testing"}


def value(name: str, labels: dict[str, str] = SERVICE) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def widget_event(name: str = "gear", *, occurred_at: datetime | None = None) -> bytes:
    widget = str(uuid.uuid4())
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "type": "testing.widget.created",
            "schema_version": 1,
            "aggregate_id": widget,
            "version": 1,
            "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
            "data": {"id": widget, "name": name, "color": "red", "deleted": False},
        }
    ).encode()


_seq = iter(range(1, 10**9))


def msg(data: bytes, delivered: int = 1) -> IncomingMessage:
    return IncomingMessage("TESTING", next(_seq), "testing.widget.x", data, delivered)


@pytest.fixture(autouse=True)
def no_failing_names():
    consumers.FAILING_NAMES.clear()
    yield
    consumers.FAILING_NAMES.clear()


# --- the relay ---


@pytest.mark.django_db(transaction=True)
def test_a_relay_batch_counts_what_jetstream_confirmed_and_when(fresh_streams):
    published = value("outbox_events_published_total")
    batches = value("outbox_publish_duration_seconds_count")
    before = timezone.now().timestamp()
    for i in range(3):
        Widget.objects.create(name=f"w{i}")
    assert relay_pending()[0].published == 3
    assert value("outbox_events_published_total") == published + 3
    assert value("outbox_publish_duration_seconds_count") == batches + 1
    assert value("outbox_relay_last_success_timestamp_seconds") >= before


@pytest.mark.django_db(transaction=True)
def test_a_relay_batch_that_fails_counts_as_a_failure_not_a_success(own_nats_server):
    own_nats_server.kill()
    failures = value("outbox_relay_failures_total")
    published = value("outbox_events_published_total")
    last_success = value("outbox_relay_last_success_timestamp_seconds")
    Widget.objects.create(name="offline")
    assert relay_batch().failed == 1
    assert value("outbox_relay_failures_total") == failures + 1
    assert value("outbox_events_published_total") == published
    assert value("outbox_relay_last_success_timestamp_seconds") == last_success


# --- the consumer ---


@pytest.mark.django_db
def test_an_applied_batch_counts_its_events_and_their_replication_lag():
    applied = value("consumer_events_applied_total", STREAM)
    lags = value("replication_lag_seconds_count", STREAM)
    slow = value("replication_lag_seconds_bucket", {**STREAM, "le": "30.0"})
    batches = value("consumer_apply_duration_seconds_count", STREAM)
    a_minute_ago = datetime.now(UTC) - timedelta(minutes=1)
    outcomes = apply_batch([msg(widget_event()), msg(widget_event(occurred_at=a_minute_ago))])
    assert [o.action for o in outcomes] == [Action.ACK, Action.ACK]
    assert value("consumer_events_applied_total", STREAM) == applied + 2
    assert value("replication_lag_seconds_count", STREAM) == lags + 2
    # One came at once, one a minute after its commit: only the first is within 30 s.
    assert value("replication_lag_seconds_bucket", {**STREAM, "le": "30.0"}) == slow + 1
    assert value("consumer_apply_duration_seconds_count", STREAM) == batches + 1


@pytest.mark.django_db
def test_a_duplicate_is_not_counted_as_applied_again():
    raw = widget_event()
    apply_batch([msg(raw)])
    applied = value("consumer_events_applied_total", STREAM)
    redeliveries = value("consumer_redeliveries_total", STREAM)
    apply_batch([msg(raw, delivered=2)])  # the ack was lost: JetStream delivers it again
    assert value("consumer_events_applied_total", STREAM) == applied
    assert value("consumer_redeliveries_total", STREAM) == redeliveries + 1


@pytest.mark.django_db
def test_a_dead_letter_is_counted_and_the_beat_reads_how_many_are_stored():
    consumers.FAILING_NAMES.add("bad")
    dead = value("consumer_dead_letters_total", STREAM)
    [retry] = apply_batch([msg(widget_event("bad"), delivered=1)])
    assert retry.action is Action.NAK
    assert value("consumer_dead_letters_total", STREAM) == dead
    [term] = apply_batch([msg(widget_event("bad"), delivered=3)])  # the last delivery
    assert term.action is Action.TERM
    [undecodable] = apply_batch([msg(b"not json")])
    assert undecodable.action is Action.TERM
    assert value("consumer_dead_letters_total", STREAM) == dead + 2

    refresh_pipeline_gauges()
    assert value("consumer_dead_letter_events") == 2


# --- read when scraped ---


@pytest.mark.django_db
def test_the_outbox_gauges_read_the_backlog(settings):
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "NATS_URL": "nats://127.0.0.1:1"}
    refresh_pipeline_gauges()
    assert value("outbox_pending_events") == 0
    assert value("outbox_oldest_pending_age_seconds") == 0
    for i in range(3):
        Widget.objects.create(name=f"w{i}")
    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(seconds=90))
    OutboxEvent.objects.filter(seq=OutboxEvent.objects.order_by("seq")[0].seq).update(attempts=2)
    refresh_pipeline_gauges()
    assert value("outbox_pending_events") == 3
    assert value("outbox_failing_events") == 1
    assert 90 <= value("outbox_oldest_pending_age_seconds") < 120
    # NATS did not answer: said, and no lag shown that could be stale.
    assert value("jetstream_up") == 0
    assert REGISTRY.get_sample_value("consumer_lag_events", STREAM) is None


@pytest.mark.django_db(transaction=True)
def test_the_lag_is_what_the_durable_consumer_has_not_been_delivered(fresh_streams):
    refresh_jetstream_gauges("testsvc")
    assert value("jetstream_up") == 1
    # No durable consumer yet (the consumer never ran): no lag rather than a made-up one.
    assert REGISTRY.get_sample_value("consumer_lag_events", STREAM) is None
    with RunnerThread():  # creates the durable consumer, consumes nothing yet
        wait_until(
            lambda: (
                refresh_jetstream_gauges("testsvc")
                or REGISTRY.get_sample_value("consumer_lag_events", STREAM) is not None
            ),
            timeout=10,
            message="the durable consumer",
        )
    publish_while_stopped(4)  # waits for it now
    assert value("consumer_lag_events", STREAM) == 4


def publish_while_stopped(count: int) -> None:
    """Widgets made and published with no consumer running, then the gauges refreshed."""
    for i in range(count):
        Widget.objects.create(name=f"w{i}")
    assert relay_pending()[0].published == count
    refresh_jetstream_gauges("testsvc")


def samples_of(name: str) -> dict[frozenset, float]:
    """Every sample of one metric in this process's registry: {its labels: value}."""
    return {
        frozenset(sample.labels.items()): sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == name
    }


@pytest.mark.django_db(transaction=True)
def test_a_partitioned_stream_is_one_series_per_stream_not_per_partition(fresh_streams, settings):
    """With the stream cut into partitions, the metrics stay labelled by stream, as the
    alerts and the dashboard group them: the lag is summed over every durable consumer of the
    stream (each partition's and the one of before), the applied events counted under the
    stream's name, never a partition-suffixed subject or durable name."""
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "STREAM_PARTITIONS": 2}
    relay._publisher = None  # the next relay declares the stream with its partitions
    Widget.objects.create(name="first")
    relay_pending()
    applied = value("consumer_events_applied_total", STREAM)
    with RunnerThread():  # the durables of both partitions and the one of before
        wait_until(
            lambda: value("consumer_events_applied_total", STREAM) == applied + 1,
            timeout=15,
            message="the first widget applied",
        )
    publish_while_stopped(12)  # waits now, spread over both partitions
    lags = {k: v for k, v in samples_of("consumer_lag_events").items() if SERVICE.items() <= k}
    assert lags == {frozenset(STREAM.items()): 12}, lags
    for name in ("consumer_events_applied_total", "consumer_apply_duration_seconds_count"):
        streams = {dict(k).get("stream") for k in samples_of(name) if SERVICE.items() <= k}
        assert streams == {"testing"}, (name, streams)
    relay._publisher = None


# --- the port ---


def scrape(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.django_db(transaction=True)
def test_the_port_serves_the_gauges_as_read_at_the_scrape(monkeypatch, settings):
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "NATS_URL": "nats://127.0.0.1:1"}
    port = free_port()
    monkeypatch.setenv("METRICS_PORT", str(port))
    monkeypatch.setenv("METRICS_ADDRESS", "127.0.0.1")
    assert serve_metrics_port(refreshers=[refresh_pipeline_gauges]) == port
    Widget.objects.create(name="waiting")
    status, text = scrape(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    assert 'outbox_pending_events{service="testsvc"} 1.0' in text
    Widget.objects.create(name="waiting too")
    assert (
        'outbox_pending_events{service="testsvc"} 2.0'
        in scrape(f"http://127.0.0.1:{port}/metrics")[1]
    )


def test_a_refresher_that_fails_fails_the_scrape():
    def broken() -> None:
        raise RuntimeError("database away")

    with pytest.raises(RuntimeError, match="database away"):
        list(RefreshedRegistry([broken]).collect())


def test_no_port_without_metrics_port_and_a_clear_error_for_a_bad_one(monkeypatch):
    monkeypatch.delenv("METRICS_PORT", raising=False)
    assert serve_metrics_port() is None
    monkeypatch.setenv("METRICS_PORT", "ninety")
    with pytest.raises(RuntimeError, match="METRICS_PORT='ninety' is not a port number"):
        serve_metrics_port()


def test_every_metric_carries_the_service_label():
    for obj in vars(metrics).values():
        if hasattr(obj, "_labelnames"):
            assert obj._labelnames[0] == "service", obj
