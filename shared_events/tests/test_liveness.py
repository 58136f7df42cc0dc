"""Liveness with real processes: the consumer, a Celery worker and beat write their heartbeat
while idle and through an outage of what they talk to (NATS, Redis), stop writing it when
their loop is stuck, and the probe the manifests run (`python -m shared_events.core.heartbeat`)
fails then, and passes again once the loop moves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from shared_events.core import heartbeat
from shared_events.core.outbox.relay import relay_pending
from shared_events.core.testing import wait_until
from tests.testapp.models import Widget, WidgetReplica

TESTS_ROOT = Path(__file__).resolve().parents[1]  # shared_events/, where `tests` imports
INTERVAL = 0.2
MAX_AGE = 3.0


class Beating:
    """A process started with a heartbeat file, and the probe run against it."""

    def __init__(self, argv: list[str], *, cwd: Path, env: dict[str, str], tmp: Path) -> None:
        self.file = tmp / "heartbeat"
        self.log = tmp / "process.log"
        self.env = {
            **env,
            heartbeat.FILE_VARIABLE: str(self.file),
            heartbeat.INTERVAL_VARIABLE: str(INTERVAL),
        }
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                argv, cwd=cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def probe(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shared_events.core.heartbeat", "--max-age", str(MAX_AGE)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def alive(self) -> bool:
        assert self.proc.poll() is None, f"the process exited:\n{self.log.read_text()}"
        return self.probe().returncode == 0

    def mtime(self) -> float:
        return self.file.stat().st_mtime if self.file.exists() else 0.0

    def keeps_beating(self, why: str) -> None:
        """Two more beats from now (each a new write), and the probe passes."""
        for _ in range(2):
            before = self.mtime()
            wait_until(
                lambda before=before: self.mtime() > before,
                timeout=30,
                interval=0.05,
                message=f"a heartbeat {why}",
            )
        assert self.alive(), self.probe().stderr

    def wait_dead(self, why: str) -> None:
        wait_until(lambda: not self.alive(), timeout=60, interval=0.5, message=why)
        assert "stuck" in self.probe().stderr

    def wait_alive(self, why: str) -> None:
        wait_until(self.alive, timeout=60, interval=0.2, message=why)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a test may leave it stopped
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


# --------------------------------------------------------------------------- consumer --

CONSUMER = """
import os, django
django.setup()
from django.conf import settings
settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "NATS_URL": os.environ["TEST_NATS_URL"]}
from django.core.management import call_command
call_command("consume_events")
"""


def database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return (
        f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/"
        f"{s['NAME']}"
    )


@pytest.fixture
def consumer(transactional_db, own_nats_server, tmp_path) -> Iterator[Beating]:
    if connection.vendor != "postgresql":
        pytest.skip("a lock the consumer waits on needs PostgreSQL (SHARED_EVENTS_DATABASE_URL)")
    proc = Beating(
        [sys.executable, "-c", CONSUMER],
        cwd=TESTS_ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "SHARED_EVENTS_DATABASE_URL": database_url(),
            "TEST_NATS_URL": own_nats_server.url,
        },
        tmp=tmp_path,
    )
    yield proc
    proc.stop()


@contextmanager
def replica_table_locked() -> Iterator[None]:
    """The replicas' table locked by another session: the consumer's next batch waits there,
    in its database thread, for as long as the block lasts."""
    holder = psycopg2.connect(database_url())
    try:
        with holder.cursor() as cur:
            cur.execute("SET lock_timeout = 0")
            cur.execute(f'LOCK TABLE "{WidgetReplica._meta.db_table}" IN ACCESS EXCLUSIVE MODE')
            yield
    finally:
        holder.rollback()
        holder.close()


def test_the_consumer_beats_idle_and_stops_beating_when_stuck_in_its_database_thread(consumer):
    consumer.wait_alive("the consumer's first heartbeat")
    consumer.keeps_beating("from the idle consumer")

    with replica_table_locked():
        widget = Widget.objects.create(name="held")
        relay_pending()
        consumer.wait_dead("the probe to fail while the batch waits on the lock")
    consumer.wait_alive("the heartbeat to come back once the batch applied")
    wait_until(
        lambda: WidgetReplica.objects.filter(pk=widget.pk).exists(),
        timeout=30,
        message="the held widget applied",
    )


def test_the_consumer_keeps_beating_while_nats_is_down(consumer, own_nats_server):
    consumer.wait_alive("the consumer's first heartbeat")
    own_nats_server.close()
    consumer.keeps_beating("while NATS is down and the consumer retries")
    assert "retrying" in consumer.log.read_text() or "reconnecting" in consumer.log.read_text()


# --------------------------------------------------------------------- worker and beat --

CELERY_APP = """
import os, time
from pathlib import Path
from celery import Celery
from shared_events.core.celery_liveness import install

app = Celery("liveness", broker=os.environ["TEST_BROKER_URL"])
app.conf.task_default_queue = "liveness"
app.conf.broker_connection_retry_on_startup = True
app.conf.broker_connection_max_retries = None
app.conf.beat_schedule = {"noop": {"task": "liveapp.noop", "schedule": 0.5}}
install(app)


@app.task(name="liveapp.noop")
def noop():
    pass


@app.task(name="liveapp.hold")
def hold(release):
    # A task that hangs (a call with no timeout) until the test lets it go.
    deadline = time.monotonic() + 60
    while not Path(release).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
"""


def celery_process(role: list[str], broker_url: str, tmp_path: Path) -> Beating:
    app_dir = tmp_path / "app"
    app_dir.mkdir(exist_ok=True)
    (app_dir / "liveapp.py").write_text(textwrap.dedent(CELERY_APP))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    run = tmp_path / role[0]
    run.mkdir()
    return Beating(
        [sys.executable, "-m", "celery", "-A", "liveapp", *role, "--loglevel", "INFO"],
        cwd=app_dir,
        env={**env, "TEST_BROKER_URL": broker_url, "PYTHONPATH": str(app_dir)},
        tmp=run,
    )


def send_hold(broker_url: str, release: Path) -> None:
    from celery import Celery

    app = Celery("liveness-client", broker=broker_url)
    try:
        app.send_task("liveapp.hold", args=[str(release)], queue="liveness")
    finally:
        app.close()


def test_the_worker_beats_idle_and_stops_beating_when_its_pool_is_stuck(broker, tmp_path):
    broker_url, server = broker
    worker = celery_process(
        ["worker", "--pool", "threads", "--concurrency", "1", "--without-gossip",
         "--without-mingle", "-Q", "liveness"],
        broker_url,
        tmp_path,
    )  # fmt: skip
    try:
        worker.wait_alive("the worker's first heartbeat")
        worker.keeps_beating("from the idle worker")

        release = tmp_path / "release"
        send_hold(broker_url, release)
        worker.wait_dead("the probe to fail while the only pool thread hangs")
        release.touch()
        worker.wait_alive("the heartbeat to come back once the task returned")

        server.terminate()
        server.wait(10)
        worker.keeps_beating("while Redis is down and the worker reconnects")
    finally:
        worker.stop()


def test_beat_beats_and_stops_beating_when_its_loop_stops(broker, tmp_path):
    broker_url, _ = broker
    beat = celery_process(
        ["beat", "--schedule", str(tmp_path / "celerybeat-schedule")], broker_url, tmp_path
    )
    try:
        beat.wait_alive("beat's first heartbeat")
        beat.keeps_beating("from beat")
        beat.proc.send_signal(signal.SIGSTOP)  # frozen, as a loop that hangs would be
        beat.wait_dead("the probe to fail while beat's loop is stopped")
        beat.proc.send_signal(signal.SIGCONT)
        beat.wait_alive("the heartbeat to come back once beat runs again")
    finally:
        beat.stop()
