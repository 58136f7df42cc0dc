"""What the scenarios stand on: the production backends of this machine, the platform started
like `manage_all.py up` starts it, agents (scripts run inside one service's Django settings),
direct reads of a service's database, and the resident memory of process trees.

Isolation: the bench runs its own nats-server (file storage, in the run's temporary folder),
creates `bench_<name>_<run>` databases on the PostgreSQL server and drops them at the end, and
uses a Redis database number of its own (BENCH_REDIS_URL, default db 11) with a queue prefix of
its own, deleting at the end only the keys it created there.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import manage_all
from shared_events.core.testing import NatsServer, free_port
from tests.system.harness import (
    _NOT_INHERITED,
    Platform,
    _postgres_admin,
    _with_database,
    database_name,
)

ROOT = manage_all.ROOT
SERVICES = list(manage_all.SERVICES)
AGENT = Path(__file__).resolve().with_name("agent.py")
# Set by the bench for the platform; never taken from the developer's shell.
_BENCH_OWNED = (
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "DJANGO_SETTINGS_MODULE",
    "EMBEDDED_DEFAULTS",
    *(f"{s.upper()}_DATABASE_URL" for s in SERVICES),
)


class BenchConfig:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        environ = dict(os.environ if environ is None else environ)
        self.postgres_url = environ.get(
            "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
        )
        self.redis_url = environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
        self.web_workers = int(environ.get("WEB_WORKERS") or 2)

    def check(self) -> None:
        """Fail early, with what to do, when a production backend is not there."""
        import psycopg2
        import redis

        try:
            psycopg2.connect(self.postgres_url, connect_timeout=3).close()
        except Exception as exc:
            raise SystemExit(
                f"bench: PostgreSQL at {self.postgres_url} is not usable ({exc}); "
                "set BENCH_POSTGRES_URL"
            ) from None
        try:
            redis.Redis.from_url(self.redis_url, socket_timeout=3).ping()
        except Exception as exc:
            raise SystemExit(
                f"bench: Redis at {self.redis_url} is not usable ({exc}); set BENCH_REDIS_URL"
            ) from None


# -- databases ---------------------------------------------------------------------------------


class Databases:
    """Fresh PostgreSQL databases of this run, dropped at close."""

    def __init__(self, config: BenchConfig, run_id: str) -> None:
        self.config, self.run_id = config, run_id
        self.created: list[str] = []

    def url(self, name: str) -> str:
        url = _with_database(self.config.postgres_url, f"bench_{name}_{self.run_id}")
        if url not in self.created:
            self.created.append(url)
        return url

    def drop_all(self) -> None:
        for url in self.created:
            name = database_name(url)
            try:
                _postgres_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # keep dropping the others
                print(f"bench: could not drop {name}: {exc}", file=sys.stderr)


def connect(url: str) -> Any:
    """An autocommit psycopg2 connection: the bench reads replicas directly, without HTTP."""
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def scalar(conn: Any, sql: str, params: Any = None) -> Any:
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def wait_for(
    predicate: Callable[[], Any],
    *,
    timeout: float,
    interval: float = 0.05,
    what: str = "condition",
    on_poll: Callable[[], None] | None = None,
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if on_poll:
            on_poll()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# -- Redis -------------------------------------------------------------------------------------


class RedisKeys:
    """Deletes at the end exactly the keys that appeared in the bench's Redis database during
    the run and look like the platform's (queues, kombu bindings, relay markers, cache)."""

    PATTERNS = (
        "bench-*",
        "_kombu.*",
        "unacked*",
        "shared_events:*",
        "celery*",
        *(f"{s}:*" for s in SERVICES),
    )

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5)
        self.before = self._keys()

    def _keys(self) -> set[bytes]:
        found: set[bytes] = set()
        for pattern in self.PATTERNS:
            found.update(self.client.scan_iter(match=pattern, count=1000))
        return found

    def cleanup(self) -> int:
        new = list(self._keys() - self.before)
        for start in range(0, len(new), 500):
            self.client.delete(*new[start : start + 500])
        return len(new)


# -- the platform ------------------------------------------------------------------------------


class BenchPlatform(Platform):
    """The system-test harness's platform (`manage_all.platform_processes`, the processes `up`
    runs), on PostgreSQL, the Redis broker and a NATS server of its own."""

    def __init__(self, config: BenchConfig, databases: Databases, workdir: Path) -> None:
        super().__init__(workdir, web_workers=config.web_workers)
        self.bench_config = config
        self.databases = databases
        self.run_id = databases.run_id

    def environment(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in _NOT_INHERITED and k not in _BENCH_OWNED and not k.startswith("BENCH_")
        }
        env["VAR_DIR"] = str(self.var_dir)
        env["EMBEDDED_NATS_PORT"] = str(free_port())
        for service in SERVICES:
            env[f"{service.upper()}_PORT"] = str(free_port())
            env[f"{service.upper()}_DATABASE_URL"] = self.databases.url(service)
        for variable, _default in manage_all.metrics_port_variables().values():
            env[variable] = str(free_port())
        env["CELERY_BROKER_URL"] = self.bench_config.redis_url
        env["CACHE_URL"] = self.bench_config.redis_url
        env["CELERY_QUEUE_PREFIX"] = f"bench-{self.run_id}-"
        # Each service's own settings plus the bench's app (settings.py); the repository on the
        # path lets the services, run from their own folders, import tests.bench.
        env["DJANGO_SETTINGS_MODULE"] = "tests.bench.settings"
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        for name in ("THROTTLE_LOGIN", "THROTTLE_LOGIN_EMAIL", "THROTTLE_REGISTER"):
            env[name] = "100000/min"
        return env

    def service_env(self, service: str) -> dict[str, str]:
        return dict(self.specs[f"{service}-web"].env)

    def db_url(self, service: str) -> str:
        return self.service_env(service)["DATABASE_URL"]

    def port(self, service: str) -> int:
        assert self.config is not None
        return self.config.ports[service]

    def close(self, *, keep_files: bool = False) -> None:
        self.created_databases = []  # the bench's Databases drops them, with its own
        super().close(keep_files=keep_files)


def standalone_env(
    service: str, *, database_url: str, nats_url: str, var_dir: Path, redis_url: str, run_id: str
) -> dict[str, str]:
    """A service's environment without a running platform (relay and consumer scenarios)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _NOT_INHERITED and k not in _BENCH_OWNED and not k.startswith("BENCH_")
    }
    env.update(
        {
            "VAR_DIR": str(var_dir),
            "NATS_URL": nats_url,
            f"{service.upper()}_DATABASE_URL": database_url,
            "CELERY_BROKER_URL": redis_url,
            "CACHE_URL": redis_url,
            "CELERY_QUEUE_PREFIX": f"bench-{run_id}-",
        }
    )
    config = manage_all.platform_config(env)
    return manage_all.service_env(config, service)


def migrate(env_by_service: dict[str, dict[str, str]]) -> None:
    """`manage.py migrate` for several (service, environment) pairs at once."""
    running = {}
    for key, env in env_by_service.items():
        service = key.split(":")[0]
        manage_all.ensure_database(env["DATABASE_URL"])
        running[key] = subprocess.Popen(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT / f"{service}_service",
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    for key, proc in running.items():
        output, _ = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"migrating {key} failed:\n{output}")


# -- agents: code run inside a service's Django settings ---------------------------------------


class Agent:
    """`tests/bench/agent.py <module.function>` in a service's folder and environment. Its
    `progress(done, total, note)` lines drive a callback; its result comes back as JSON."""

    def __init__(
        self,
        service: str,
        function: str,
        kwargs: dict[str, Any],
        *,
        env: dict[str, str],
        log_dir: Path,
        on_progress: Callable[[float, float, str], None] | None = None,
    ) -> None:
        self.function = function
        log_dir.mkdir(parents=True, exist_ok=True)
        stem = f"agent-{service}-{function.replace('.', '-')}-{time.monotonic_ns()}"
        self.result_path = log_dir / f"{stem}.json"
        self.log_path = log_dir / f"{stem}.log"
        self._on_progress = on_progress
        argv = [sys.executable, str(AGENT), function, str(self.result_path)]
        profile_dir = os.environ.get("BENCH_PROFILE")
        if profile_dir:  # sample every thread of the agent with py-spy (pip install py-spy)
            Path(profile_dir).mkdir(parents=True, exist_ok=True)
            argv = [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "--rate",
                "250",
                "--idle",
                "--format",
                "raw",
                "--output",
                str(Path(profile_dir) / f"{stem}.txt"),
                "--",
                *argv,
            ]
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT / f"{service}_service",
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(kwargs))
        self.proc.stdin.close()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with open(self.log_path, "w") as log:
            for line in self.proc.stdout:
                if line.startswith("@@progress "):
                    done, total, note = (line.rstrip("\n").split(" ", 3)[1:] + [""])[:3]
                    if self._on_progress:
                        self._on_progress(float(done), float(total), note)
                    continue
                log.write(line)
                log.flush()

    def signal(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def result(self, timeout: float = 900) -> Any:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait(10)
            raise RuntimeError(f"agent {self.function} took more than {timeout:.0f}s") from None
        self._reader.join(5)
        if self.proc.returncode != 0 or not self.result_path.exists():
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-40:])
            raise RuntimeError(
                f"agent {self.function} failed (exit {self.proc.returncode}):\n{tail}"
            )
        return json.loads(self.result_path.read_text())

    def kill(self) -> None:
        try:
            self.signal(signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_agent(
    service: str,
    function: str,
    kwargs: dict[str, Any] | None = None,
    *,
    env: dict[str, str],
    log_dir: Path,
    progress: Any = None,
    timeout: float = 900,
) -> Any:
    def on_progress(done: float, total: float, note: str) -> None:
        if progress is not None:
            progress.total = max(total, 1e-9)
            progress.update(done, note or None)

    agent = Agent(
        service, function, kwargs or {}, env=env, log_dir=log_dir, on_progress=on_progress
    )
    try:
        return agent.result(timeout)
    finally:
        agent.kill()


# -- memory ------------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int, tree: dict[int, list[int]] | None = None) -> list[int]:
    tree = tree if tree is not None else _children()
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(tree.get(current, []))
    return found


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size: shared pages (a forked web worker's) counted once overall."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


class RssSampler:
    """Samples the resident memory of named process trees every `interval` seconds and keeps
    each process's peak (a gunicorn master and each of its workers are separate entries)."""

    def __init__(self, roots: dict[str, int], interval: float = 0.5) -> None:
        self.roots, self.interval = roots, interval
        self.peak: dict[str, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def sample(self) -> None:
        tree = _children()
        for name, root in self.roots.items():
            for i, pid in enumerate(descendants(root, tree)):
                key = name if i == 0 else f"{name} (child {pid})"
                self.peak[key] = max(self.peak.get(key, 0), rss_bytes(pid))
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)


# -- CPU ---------------------------------------------------------------------------------------

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far (0 for one that is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / _CLOCK_TICKS


class CpuMeter:
    """CPU seconds spent between `start()` and `stop()`, by group: the process trees given by
    name, PostgreSQL's backends serving the given databases, this process (the load
    generator, with its threads) and the whole machine. A process that appears meanwhile
    counts from zero. It says where the CPU of a load goes, per request, beside its ceiling's
    (`ballots.py`)."""

    def __init__(self, roots: dict[str, int], pg: Any, databases: list[str]) -> None:
        self.roots, self._pg, self._databases = roots, pg, databases
        self.seconds: dict[str, float] = {}
        self.wall = 0.0
        self._start: dict[int, tuple[str, float]] = {}

    def _backends(self) -> list[int]:
        with self._pg.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s)"
                " AND pid <> pg_backend_pid()",
                [self._databases],
            )
            return [pid for (pid,) in cursor.fetchall()]

    def _snapshot(self) -> dict[int, tuple[str, float]]:
        tree = _children()
        groups = {pid: name for name, root in self.roots.items() for pid in descendants(root, tree)}
        groups.update({pid: "postgres" for pid in self._backends()})
        groups[os.getpid()] = "load generator"
        return {pid: (group, cpu_seconds(pid)) for pid, group in groups.items()}

    def start(self) -> None:
        self._start = self._snapshot()
        self._machine, self._t0 = machine_busy_seconds(), time.monotonic()

    def stop(self) -> None:
        self.wall = time.monotonic() - self._t0
        seconds: dict[str, float] = {}
        for pid, (group, cpu) in self._snapshot().items():
            seconds[group] = seconds.get(group, 0.0) + cpu - self._start.get(pid, (group, 0.0))[1]
        seconds["machine"] = machine_busy_seconds() - self._machine
        self.seconds = seconds

    def per_request_ms(self, requests_per_second: float) -> dict[str, float]:
        """Each group's CPU per request, in ms, at the load's measured rate."""
        requests = requests_per_second * self.wall
        if not requests:
            return {}
        return {group: round(1000 * s / requests, 3) for group, s in self.seconds.items()}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def stop_nats(server: NatsServer) -> None:
    server.close()
