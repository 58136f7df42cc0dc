"""The system-test harness: the real platform, started from `manage_all.platform_processes`
(exactly what `manage_all.py up` runs), on free ports, in a throwaway VAR_DIR.

- NATS: always a server of the run's own, from the wheel, so a test may kill and restart it;
  with the users `up` generates, so every process signs in as its own service and holds only
  its permissions. Tests look at NATS as `admin` (`platform.config.nats_admin_url`).
- Broker: the CELERY_BROKER_URL of the environment if set (CI: Redis), with a queue prefix of
  the run's own; otherwise the embedded redis-server on a socket in the run's VAR_DIR.
- Roles: each in a process of its own (`COMBINE_ROLES=0`), as in the pods, also where `up`
  would run beat and consumer in the worker.
- Databases: fresh `systest_<service>_<run>` databases on the server of <SERVICE>_DATABASE_URL
  if set (CI: PostgreSQL), dropped afterwards; otherwise the embedded SQLite files.

Every process runs in a process group of its own, with its output in a log file; teardown
stops only the groups this harness created.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode, urlsplit

import dj_database_url

import manage_all
from shared_events.core.testing import free_port, port_open, wait_until

ROOT = manage_all.ROOT
SERVICES = list(manage_all.SERVICES)
# Environment the platform must not inherit from the developer's shell.
_NOT_INHERITED = (
    "DATABASE_URL",
    "NATS_URL",
    "VAR_DIR",
    "EMBEDDED_NATS_PORT",
    "WEB_WORKERS",
    "CELERY_QUEUE_PREFIX",
    *(f"{s.upper()}_PORT" for s in SERVICES),
    *(variable for variable, _default in manage_all.metrics_port_variables().values()),
    "METRICS_PORT",
    "PROMETHEUS_MULTIPROC_DIR",
)


class Response(NamedTuple):
    status: int
    body: Any  # parsed JSON, or the text when it is not JSON
    headers: Message  # looked up in any case, as HTTP names them

    def __repr__(self) -> str:
        return f"<{self.status} {str(self.body)[:300]}>"


def http(
    method: str,
    url: str,
    data: Any = None,
    *,
    token: str | None = None,
    accept: str = "application/json",
    timeout: float = 30.0,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """One JSON request, the system tests' one HTTP client. An HTTP error status is a Response;
    no answer (refused, reset, timed out) raises the OSError. The timeout is generous: a loaded
    CI machine is slow, and a test waits for an answer, not for speed. `form`: a form-encoded
    body instead (as a mail client's one-click unsubscribe sends). `headers`: more to send (a
    proxy's X-Forwarded-For, another Host)."""
    headers = {"Accept": accept, **(headers or {})}
    body = None
    if data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        body = urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, answered, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, answered, raw = exc.code, exc.headers, exc.read()
    text = raw.decode(errors="replace")
    try:
        return Response(status, json.loads(text) if text else None, answered)
    except ValueError:
        return Response(status, text, answered)


def database_name(url: str) -> str:
    return dj_database_url.parse(url)["NAME"]


def _with_database(url: str, name: str) -> str:
    # A URL to build, not to read: dj-database-url only parses.
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def postgres_connection(url: str, dbname: str | None = None) -> Any:
    """An autocommit connection to the server of a database URL: to `dbname`, by default
    the URL's own database."""
    import psycopg2

    database = dj_database_url.parse(url)
    conn = psycopg2.connect(
        dbname=dbname or database["NAME"],
        user=database["USER"] or None,
        password=database["PASSWORD"] or None,
        host=database["HOST"] or None,
        port=database["PORT"] or None,
    )
    conn.autocommit = True
    return conn


def _postgres_admin(url: str, statement: str) -> None:
    conn = postgres_connection(url, "postgres")
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
    finally:
        conn.close()


class Platform:
    def __init__(self, workdir: Path | None = None, *, web_workers: int = 1) -> None:
        self.run_id = secrets.token_hex(4)
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="systest-"))
        self.var_dir = self.workdir / "var"
        self.log_dir = self.workdir / "logs"
        self.web_workers = web_workers
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.specs: dict[str, manage_all.ProcessSpec] = {}
        self.created_databases: list[str] = []  # URLs, dropped at close
        self.config: manage_all.PlatformConfig | None = None

    # -- setting up ---------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
        env["VAR_DIR"] = str(self.var_dir)
        env["EMBEDDED_NATS_PORT"] = str(free_port())
        # A process per role, as in the pods, whatever the broker: tests stop, kill and scrape
        # a beat or a consumer on its own (README, "Roles in one process").
        env["COMBINE_ROLES"] = "0"
        for service in SERVICES:
            env[f"{service.upper()}_PORT"] = str(free_port())
        for variable, _default in manage_all.metrics_port_variables().values():
            env[variable] = str(free_port())
        if env.get("CELERY_BROKER_URL"):
            # A shared Redis: this run's queues are its own.
            env["CELERY_QUEUE_PREFIX"] = f"systest-{self.run_id}-"
        # Many sign-ins from 127.0.0.1 in a few seconds are the tests, not an attack.
        env.setdefault("THROTTLE_LOGIN", "1000/min")
        env.setdefault("THROTTLE_LOGIN_EMAIL", "1000/min")
        env.setdefault("THROTTLE_REGISTER", "1000/min")
        env.setdefault("THROTTLE_LOGIN_STAKE_ADDRESS", "1000/min")
        env.setdefault("THROTTLE_STAKE_PROOF", "1000/min")
        for service in SERVICES:
            key = f"{service.upper()}_DATABASE_URL"
            if env.get(key):
                url = _with_database(env[key], f"systest_{service}_{self.run_id}")
                env[key] = url
                self.created_databases.append(url)  # manage_all.migrate creates it
        return env

    def start(self, timeout: float = 90.0) -> Platform:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.config = manage_all.platform_config(self.environment(), web_workers=self.web_workers)
        try:
            manage_all.migrate(self.config)
        except SystemExit as exc:
            raise RuntimeError(f"migrations failed (exit {exc.code})") from None
        for spec in manage_all.platform_processes(self.config):
            self.specs[spec.name] = spec
            self.spawn(spec.name)
        self.wait_ready(timeout=timeout, all_alive=True)
        return self

    def spawn(
        self, name: str, *, extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start one process of the platform (`extra_env`: for this start only)."""
        spec = self.specs[name]
        with open(self.log_dir / f"{name}.log", "ab") as log:
            log.write(
                f"\n----- started {time.strftime('%H:%M:%S')}: {spec.argv}"
                f"{' with ' + str(extra_env) if extra_env else ''}\n".encode()
            )
            log.flush()
            proc = subprocess.Popen(
                spec.argv,
                cwd=spec.cwd,
                env={**spec.env, **(extra_env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # a process group of its own
        self.procs[name] = proc
        return proc

    # -- observing ----------------------------------------------------------------------------

    def url(self, service: str, path: str = "") -> str:
        assert self.config is not None
        return manage_all.base_url(self.config, service) + path.lstrip("/")

    def api(
        self, method: str, service: str, path: str, data: Any = None, *, token: str | None = None
    ) -> Response:
        return http(method, self.url(service, "api/" + path.lstrip("/")), data, token=token)

    def ready(self, service: str) -> bool:
        return manage_all.http_status(self.url(service, "health/ready")) == 200

    def wait_ready(
        self, services: list[str] | None = None, timeout: float = 60.0, *, all_alive: bool = False
    ) -> None:
        """Until each service's web answers ready. `all_alive`: fail at once if any process of
        the platform exits meanwhile (at start-up, when nothing may have been killed yet)."""
        for service in services or SERVICES:
            wait_until(
                lambda s=service: (all_alive and self.exited()) or self.ready(s),
                timeout=timeout,
                interval=0.1,
                message=f"{service} to be ready",
            )
            if all_alive and self.exited():
                raise RuntimeError(f"platform processes exited: {self.exited()}")
        assert self.config is not None
        if self.config.nats_port is not None:
            wait_until(
                lambda: port_open(self.config.nats_port), timeout=timeout, message="NATS to listen"
            )

    def exited(self) -> dict[str, int]:
        """Processes that are not running, with their exit codes."""
        return {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}

    def logs(self, tail: int = 60) -> str:
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()
            parts.append(
                f"===== {path.stem} (last {min(tail, len(lines))} of {len(lines)} "
                f"lines, {path}) =====\n" + "\n".join(lines[-tail:])
            )
        return "\n".join(parts)

    # -- acting -------------------------------------------------------------------------------

    def manage(
        self, service: str, *args: str, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        """`manage.py <args>` in the service's folder with the platform's environment."""
        spec = self.specs[f"{service}-web"]
        return subprocess.run(
            [spec.argv[0], "manage.py", *args],
            cwd=spec.cwd,
            env=spec.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def kill(self, name: str, sig: int = signal.SIGKILL, timeout: float = 20.0) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
        proc.wait(timeout)

    def stop(self, name: str, timeout: float = 15.0) -> None:
        try:
            self.kill(name, signal.SIGTERM, timeout)
        except subprocess.TimeoutExpired:
            self.kill(name, signal.SIGKILL)

    def service_processes(self, service: str) -> list[str]:
        """The names of one service's processes (web, worker, beat, consumer)."""
        return [name for name in self.specs if name.startswith(f"{service}-")]

    def restart(self, name: str, *, hard: bool = False) -> None:
        if hard:
            self.kill(name)
        else:
            self.stop(name)
        self.spawn(name)
        service = name.split("-")[0]
        if name.endswith("-web"):
            self.wait_ready([service])
        elif name == "nats":
            assert self.config is not None
            wait_until(
                lambda: port_open(self.config.nats_port), timeout=20, message="NATS to listen again"
            )

    # -- tearing down -------------------------------------------------------------------------

    def close(self, *, keep_files: bool = False) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs.values():
            # The leader may be gone with members left (a web worker whose master died).
            _signal_group(proc.pid, signal.SIGKILL)
            if proc.poll() is None:
                proc.wait(10)
        for url in self.created_databases:
            name = database_name(url)
            _postgres_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not keep_files:
            shutil.rmtree(self.workdir, ignore_errors=True)


class RunningCommand:
    """A command run as a user runs it (`manage_all.py up`, `manage_all.py demo`), its output
    collected by a thread."""

    def __init__(self, argv: list[str], *, env: dict[str, str], new_session: bool = False) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@contextmanager
def started_platform(running: Platform | None = None) -> Iterator[Platform]:
    """A started platform (`running`, a new Platform by default), closed at the end; one that
    fails to start prints its logs and keeps its files for a look."""
    running = Platform() if running is None else running
    try:
        running.start()
    except BaseException:
        print(running.logs(tail=200))
        running.close(keep_files=True)
        raise
    yield running
    running.close()
