"""The beat and the consumer as threads of one Celery worker process (`--beat-thread
--consumer-thread`, core/role_threads.py), as `manage_all.py up` runs them on the embedded
default: a real worker, broker, NATS server and database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest
from django.conf import settings as django_settings
from prometheus_client.parser import text_string_to_metric_families

from shared_events.core.testing import free_port, wait_until
from tests.testapp.models import Widget, WidgetReplica

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT = Path(__file__).resolve().parents[1]  # shared_events/, where `tests` imports


class Worker:
    def __init__(
        self,
        *,
        broker_url: str,
        nats_url: str,
        tmp: Path,
        extra_argv: tuple[str, ...] = (),
        **shared_events,
    ) -> None:
        self.log = tmp / "worker.log"
        self.metrics_port = free_port()
        options = {
            "database": {"NAME": django_settings.DATABASES["default"]["NAME"]},
            "shared_events": {"NATS_URL": nats_url, **shared_events},
            "broker_url": broker_url,
            "schedule_file": str(tmp / "celerybeat-schedule"),
        }
        # The broker of the test's own (`broker`): no one else's tasks, nor queue prefix.
        env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "tests.worker_process", "worker",
                    "--pool", "threads", "--concurrency", "2", "--loglevel", "INFO",
                    "--without-gossip", "--without-mingle",
                    "--beat-thread", "--consumer-thread", *extra_argv,
                ],
                cwd=PROJECT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={
                    **env,
                    "TEST_WORKER_OPTIONS": json.dumps(options),
                    "METRICS_PORT": str(self.metrics_port),
                    "METRICS_ADDRESS": "127.0.0.1",
                    "PYTHONUNBUFFERED": "1",
                },
            )  # fmt: skip

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def sample(self, name: str, **labels: str) -> float | None:
        """A series of the worker's metrics port (None: not there, or no answer)."""
        try:
            url = f"http://127.0.0.1:{self.metrics_port}/metrics"
            with urllib.request.urlopen(url, timeout=5) as answer:
                text = answer.read().decode()
        except OSError:
            return None
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                    return s.value
        return None

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


def test_one_worker_process_runs_the_beat_and_applies_events_and_stops_on_sigterm(
    broker, fresh_streams, tmp_path
):
    broker_url, _ = broker
    worker = Worker(broker_url=broker_url, nats_url=fresh_streams, tmp=tmp_path)
    try:
        # The consumer thread applies an event to the replica (the relay sweep of the beat,
        # or the worker's relay loop on PostgreSQL, publishes it).
        widget = Widget.objects.create(name="threaded")
        wait_until(
            lambda: (
                WidgetReplica.objects.filter(pk=widget.pk).exists()
                or worker.proc.poll() is not None
            ),
            timeout=60,
            message=f"the replica\n{worker.text()[-3000:]}",
        )
        assert worker.proc.poll() is None, worker.text()[-3000:]
        # The beat's ticks: only the beat sends the relay sweep.
        wait_until(
            lambda: (
                (
                    worker.sample(
                        "celery_tasks_total", task="shared_events.relay_outbox", state="succeeded"
                    )
                    or 0
                )
                >= 2
            ),
            timeout=30,
            message=f"the beat's sweeps to run\n{worker.text()[-3000:]}",
        )
        # One port for the three roles: the beat's gauges, read when scraped, and the
        # consumer's counters.
        assert worker.sample("outbox_pending_events", service="testsvc") == 0
        assert worker.sample(
            "consumer_events_applied_total", service="testsvc", stream="testing"
        ) == pytest.approx(1)
        # Threads, not processes: Celery's `-B` would fork the beat.
        assert psutil.Process(worker.proc.pid).children(recursive=True) == []
        assert "consumer ready" in worker.text()
    finally:
        code = worker.stop()
    assert code == 0, worker.text()[-3000:]
    # The consumer stopped as `consume_events` does on SIGTERM, and the beat saved its schedule.
    assert "consumer stopped after applying 1 messages" in worker.text()
    assert (tmp_path / "celerybeat-schedule").exists() or list(tmp_path.glob("celerybeat-*"))


def test_a_worker_whose_consumer_thread_ends_stops_with_exit_code_1(
    broker, fresh_streams, tmp_path
):
    broker_url, _ = broker
    # A replica index out of range: the consumer cannot start, as a consumer process cannot.
    worker = Worker(
        broker_url=broker_url, nats_url=fresh_streams, tmp=tmp_path, CONSUMER_REPLICA_INDEX=5
    )
    try:
        code = worker.proc.wait(60)
    finally:
        worker.stop()
    assert code == 1, worker.text()[-3000:]
    text = worker.text()
    assert "the consumer thread ended" in text and "CONSUMER_REPLICA_INDEX 5" in text, text[-3000:]


def test_a_worker_whose_beat_thread_ends_stops_with_exit_code_1(broker, fresh_streams, tmp_path):
    broker_url, _ = broker
    # A scheduler that cannot be loaded: the beat cannot run, as a beat process cannot.
    worker = Worker(
        broker_url=broker_url,
        nats_url=fresh_streams,
        tmp=tmp_path,
        extra_argv=("--scheduler", "tests.no_such_module:Scheduler"),
    )
    try:
        code = worker.proc.wait(60)
    finally:
        worker.stop()
    assert code == 1, worker.text()[-3000:]
    text = worker.text()
    assert "the beat thread ended" in text and "no_such_module" in text, text[-3000:]
