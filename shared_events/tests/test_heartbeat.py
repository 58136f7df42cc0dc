"""The liveness heartbeat file and its probe command (shared_events.core.heartbeat)."""

import logging
import os
import subprocess
import sys
import time

import pytest

from shared_events.core import heartbeat
from shared_events.core.heartbeat import Heartbeat, check


def probe(path, max_age: float, **env: str) -> subprocess.CompletedProcess[str]:
    """The probe as Kubernetes runs it: a new process, the container's environment."""
    environ = {k: v for k, v in os.environ.items() if k != heartbeat.FILE_VARIABLE}
    if path is not None:
        environ[heartbeat.FILE_VARIABLE] = str(path)
    return subprocess.run(
        [sys.executable, "-m", "shared_events.core.heartbeat", "--max-age", str(max_age)],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def age_it(path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_beat_creates_and_touches_the_file(tmp_path):
    path = tmp_path / "heartbeat"
    beat = Heartbeat(path, interval=0.01)
    beat.beat()
    assert path.exists()
    age_it(path, 100)
    time.sleep(0.02)
    beat.beat()
    assert heartbeat.age(path) < 5


def test_beats_closer_than_half_an_interval_write_nothing(tmp_path):
    path = tmp_path / "heartbeat"
    beat = Heartbeat(path, interval=60)
    beat.beat()
    age_it(path, 100)
    beat.beat()  # a busy loop beating on every iteration
    assert heartbeat.age(path) > 99


def test_without_the_variable_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv(heartbeat.FILE_VARIABLE, raising=False)
    beat = Heartbeat.from_environment()
    assert not beat.enabled
    beat.beat()  # and no error


def test_the_environment_names_the_file_and_the_interval(tmp_path):
    beat = Heartbeat.from_environment(
        {heartbeat.FILE_VARIABLE: str(tmp_path / "hb"), heartbeat.INTERVAL_VARIABLE: "2.5"}
    )
    assert beat.path == tmp_path / "hb" and beat.interval == 2.5
    assert Heartbeat.from_environment({}).interval == heartbeat.DEFAULT_INTERVAL_SECONDS
    with pytest.raises(ValueError, match="must be positive"):
        Heartbeat.from_environment({heartbeat.INTERVAL_VARIABLE: "0"})


def test_a_file_that_cannot_be_written_is_logged_once_and_never_raises(tmp_path, caplog):
    beat = Heartbeat(tmp_path / "missing-dir" / "heartbeat", interval=0.001)
    with caplog.at_level(logging.WARNING, logger=heartbeat.__name__):
        for _ in range(3):
            beat.beat()
            time.sleep(0.002)
    assert len([r for r in caplog.records if "heartbeat file" in r.message]) == 1


def test_the_verdict(tmp_path):
    path = tmp_path / "heartbeat"
    assert check(None, 60) == (False, "HEARTBEAT_FILE is not set: this process writes no heartbeat")
    alive, why = check(path, 60)
    assert not alive and "no heartbeat yet" in why
    path.touch()
    now = path.stat().st_mtime
    assert check(path, 60, now=now + 59)[0]
    alive, why = check(path, 60, now=now + 61)
    assert not alive and "61 s old" in why and "stuck" in why


def test_the_probe_command_passes_on_a_fresh_heartbeat_and_fails_on_a_stale_one(tmp_path):
    path = tmp_path / "heartbeat"
    Heartbeat(path).beat()
    fresh = probe(path, 30)
    assert fresh.returncode == 0, fresh.stderr
    age_it(path, 31)
    stale = probe(path, 30)
    assert stale.returncode == 1 and "stuck" in stale.stderr


def test_the_probe_command_fails_with_no_file_or_no_variable(tmp_path):
    missing = probe(tmp_path / "never-written", 30)
    assert missing.returncode == 1 and "no heartbeat yet" in missing.stderr
    unset = probe(None, 30)
    assert unset.returncode == 1 and "HEARTBEAT_FILE is not set" in unset.stderr
    usage = subprocess.run(
        [sys.executable, "-m", "shared_events.core.heartbeat"], capture_output=True, timeout=30
    )
    assert usage.returncode == 2  # --max-age is required: argparse's usage error


def test_the_probe_loads_no_django():
    """A probe every few seconds in a container with a memory limit: the standard library only."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, shared_events.core.heartbeat; print(sorted({m.split('.')[0] "
            "for m in sys.modules} & {'django', 'celery', 'nats'}))",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
