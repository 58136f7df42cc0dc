"""`python3 manage_all.py up` as a new user runs it: no database, NATS or broker configured,
a bare interpreter (it re-executes itself under .venv), `createoperator` as the README gives
it, then the admin signed in to, Ctrl-C to stop. Nothing may be left running afterwards, and a
port in use stops it before it starts anything."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode, urlparse
from urllib.request import HTTPCookieProcessor, Request, build_opener

import pytest
from prometheus_client.parser import text_string_to_metric_families

import manage_all
from shared_events.core.testing import free_port, wait_until
from tests.system.harness import ROOT, RunningCommand, http

START_TIMEOUT = 120.0
# `up` SIGKILLs what is left 5 s after the first process stops; the rest is room for a busy
# machine.
STOP_TIMEOUT = 20.0
PASSWORD = "a-long-enough-passphrase-42"


def bare_python() -> str:
    """The interpreter the venv was made from: it has none of the dependencies."""
    return getattr(sys, "_base_executable", sys.executable)


def new_user_environment(var_dir: Path, ports: dict[str, int]) -> dict[str, str]:
    env = {
        name: os.environ[name]
        for name in ("PATH", "HOME", "LANG", "TERM", "USER")
        if name in os.environ
    }
    env["VAR_DIR"] = str(var_dir)
    env.update({name: str(port) for name, port in ports.items()})
    return env


def manage_all_beside_up(
    var_dir: Path, ports: dict[str, int], *args: str
) -> subprocess.CompletedProcess[str]:
    """A `manage_all.py` command run by the same new user while `up` runs."""
    return subprocess.run(
        [bare_python(), "manage_all.py", *args],
        cwd=ROOT,
        env=new_user_environment(var_dir, ports),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def default_or_free_ports() -> dict[str, int]:
    ports = {f"{s.upper()}_PORT": p for s, p in manage_all.SERVICES.items()}
    ports["EMBEDDED_NATS_PORT"] = manage_all.EMBEDDED_NATS_PORT
    ports.update(dict(manage_all.metrics_port_variables().values()))
    return {
        name: port if manage_all.port_free(port) else free_port() for name, port in ports.items()
    }


def processes_with(var_dir: Path) -> list[str]:
    """Every running process started with this VAR_DIR (in its environment or arguments)."""
    marker = str(var_dir).encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            if marker in cmdline or marker in (proc / "environ").read_bytes():
                command = cmdline.replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{proc.name}: {command[:200]}")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def groups_alive(pgids: set[int]) -> set[int]:
    alive = set()
    for pgid in pgids:
        try:
            os.killpg(pgid, 0)
            alive.add(pgid)
        except ProcessLookupError:
            pass
        except PermissionError:
            alive.add(pgid)
    return alive


class Runner(RunningCommand):
    """`manage_all.py up` in a process group of its own."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__([bare_python(), "manage_all.py", "up"], env=env, new_session=True)

    def child_pgids(self) -> set[int]:
        # `up` starts each process in a session of its own and logs "<name> started (pid=N)".
        return {int(pid) for pid in re.findall(r"started \(pid=(\d+)\)", self.output)}

    def force_stop(self) -> None:
        """Teardown after a failure: only the groups this runner made."""
        for pgid in {self.proc.pid, *self.child_pgids()}:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.proc.poll() is None:
            self.proc.wait(10)


def sample(url: str, name: str, **labels: str) -> float | None:
    """One series of a metrics port (None when it is not there)."""
    answer = http("GET", url, accept="text/plain")
    assert answer.status == 200, (url, answer.status)
    for family in text_string_to_metric_families(str(answer.body)):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


def sign_in_to_the_admin(admin: str, email: str, password: str) -> None:
    """As a browser does: the login page sets the CSRF cookie (each service names its cookies
    after itself: accounts_csrftoken, accounts_sessionid) and puts the form's token in the
    page; the credentials are posted with both; the admin index then answers 200."""
    jar = CookieJar()
    browser = build_opener(HTTPCookieProcessor(jar))
    login = admin + "login/"
    with browser.open(f"{login}?{urlencode({'next': urlparse(admin).path})}", timeout=15) as page:
        assert page.status == 200, page.status
        html = page.read().decode()
    assert any(c.name == "accounts_csrftoken" for c in jar), [c.name for c in jar]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token, html[:1000]
    form = urlencode(
        {
            "csrfmiddlewaretoken": token[1],
            "username": email,
            "password": password,
            "next": urlparse(admin).path,
        }
    ).encode()
    with browser.open(Request(login, data=form, headers={"Referer": login}), timeout=15) as page:
        landed, html = page.url, page.read().decode()
    assert landed == admin, (landed, html[:2000])
    assert any(c.name == "accounts_sessionid" for c in jar), [c.name for c in jar]
    with browser.open(admin, timeout=15) as page:  # the index, with the session cookie
        status, landed, html = page.status, page.url, page.read().decode()
    assert (status, landed) == (200, admin), (status, landed, html[:2000])
    assert 'id="login-form"' not in html, html[:2000]
    assert "accounts administration" in html and 'action="/accounts/admin/logout/"' in html, html[
        :2000
    ]


@pytest.fixture
def var_dir(tmp_path_factory) -> Path:
    # Short: the Redis unix socket lives here.
    return tmp_path_factory.mktemp("up")


def test_up_runs_everything_on_the_embedded_default_and_stops_on_ctrl_c(var_dir: Path, capsys):
    ports = default_or_free_ports()
    runner = Runner(new_user_environment(var_dir, ports))
    try:
        # 1. The banner comes once every service answers ready.
        try:
            wait_until(
                lambda: "The platform is up" in runner.output or runner.proc.poll() is not None,
                timeout=START_TIMEOUT,
                interval=0.2,
                message="the banner",
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{runner.output[-6000:]}") from None
        assert runner.proc.poll() is None, runner.output[-6000:]
        accounts = f"http://127.0.0.1:{ports['ACCOUNTS_PORT']}/accounts/api/"
        voting = f"http://127.0.0.1:{ports['VOTING_PORT']}/voting/api/"
        assert f"{accounts}\n" in runner.output  # the banner names the API
        # ... and the delegators' sign-in page, which links to voting's port.
        signin = f"http://127.0.0.1:{ports['ACCOUNTS_PORT']}/accounts/signin/"
        assert signin in runner.output
        page = http("GET", signin, accept="text/html")
        assert page.status == 200, page
        assert f'href="http://127.0.0.1:{ports["VOTING_PORT"]}/voting/history/"' in page.body

        # 2. A delegator registers and signs in.
        email = f"new-user-{uuid.uuid4().hex[:8]}@example.com"
        registered = http("POST", accounts + "register/", {"email": email, "password": PASSWORD})
        assert registered.status == 201, registered
        started = time.monotonic()
        tokens = http("POST", accounts + "token/", {"email": email, "password": PASSWORD})
        assert tokens.status == 200, tokens

        # 3. voting_service's replica shows them, through the embedded NATS and Redis.
        wait_until(
            lambda: (
                http("GET", voting + "me/", token=tokens.body["access"]).body.get("id")
                == registered.body["id"]
            ),
            timeout=30,
            message="the voter",
        )
        reached = time.monotonic() - started

        # 3b. Emails are written as files under var/mail/, where the banner says: the
        #     confirmation link of the notifications, sent by accounts' worker.
        assert f"written as files under {var_dir / 'mail'}" in runner.output
        asked = http(
            "POST", accounts + "me/notifications/confirm-email/", token=tokens.body["access"]
        )
        assert asked.status == 202, asked

        def mails() -> list[str]:  # a file is there from its first byte: the whole message?
            return [p.read_text() for p in (var_dir / "mail").glob("*.log")]

        wait_until(lambda: any("-" * 79 in m for m in mails()), timeout=30, message="a mail")
        (mail,) = mails()
        assert f"To: {email}" in mail and "/api/me/notifications/confirm/?token=" in mail, mail

        # 3c. Two processes per service, web and worker: the worker runs the beat and the
        #     consumer as threads (the registration reached voting through its worker's
        #     consumer). A task only the beat sends ran, and the worker's port serves every
        #     role's metrics: the consumer's counters, the gauges the beat reads when scraped.
        config = manage_all.platform_config(new_user_environment(var_dir, ports))
        assert config.combined_roles
        started = set(re.findall(r"\| (\S+) started \(pid=", runner.output))
        assert started == {"nats", "redis"} | {
            f"{s}-{role}" for s in manage_all.SERVICES for role in ("web", "worker")
        }, started
        urls = manage_all.metrics_urls(config)
        for service in manage_all.SERVICES:
            assert (
                urls[f"{service}-beat"] == urls[f"{service}-consumer"] == urls[f"{service}-worker"]
            )
        wait_until(
            lambda: (
                (
                    sample(
                        urls["polls-beat"],
                        "celery_tasks_total",
                        task="polls.open_and_close_due",
                        state="succeeded",
                    )
                    or 0
                )
                >= 1
            ),
            timeout=30,
            message="polls' beat to run its periodic task",
        )
        assert sample(
            urls["voting-consumer"],
            "consumer_events_applied_total",
            service="voting",
            stream="accounts",
        )
        assert (
            sample(urls["accounts-beat"], "outbox_pending_events", service="accounts") is not None
        )
        # `status` finds every role of every service answering.
        shown = manage_all_beside_up(var_dir, ports, "status", "--json")
        report = json.loads(shown.stdout)["services"]
        for service in manage_all.SERVICES:
            assert report[service]["metrics"] == {
                role: {"url": urls[f"{service}-{role}"], "answers": True}
                for role in ("web", "worker", "beat", "consumer")
            }, (service, shown.stdout)

        # 4. An operator, made with the README's command while `up` runs, signs in to the
        #    accounts admin.
        admin = f"http://127.0.0.1:{ports['ACCOUNTS_PORT']}/accounts/admin/"
        operator_email = f"operator-{uuid.uuid4().hex[:8]}@example.com"
        created = manage_all_beside_up(
            var_dir, ports, "createoperator", "--email", operator_email, "--password", PASSWORD
        )
        assert created.returncode == 0, created.stdout + created.stderr
        sign_in_to_the_admin(admin, operator_email, PASSWORD)

        # 5. Ctrl-C: the terminal signals the runner's foreground process group.
        pgids = runner.child_pgids()
        assert len(pgids) == len(
            manage_all.platform_processes(manage_all.platform_config({"VAR_DIR": str(var_dir)}))
        ), runner.output[-3000:]
        stop_started = time.monotonic()
        os.killpg(runner.proc.pid, signal.SIGINT)
        code = runner.wait(STOP_TIMEOUT)
        with capsys.disabled():
            print(
                f"\nembedded up: registration reached voting in {reached * 1000:.0f} ms; "
                f"Ctrl-C stopped everything in {time.monotonic() - stop_started:.1f} s "
                f"(exit code {code})"
            )
        assert code in (0, 130), runner.output[-6000:]

        # 6. Nothing it started is left.
        wait_until(
            lambda: not groups_alive(pgids | {runner.proc.pid}),
            timeout=10,
            message="every process group to be gone",
        )
        assert processes_with(var_dir) == []
        assert "every process stopped" in runner.output
    finally:
        runner.force_stop()


def test_a_port_in_use_stops_up_before_anything_starts(var_dir: Path):
    ports = default_or_free_ports()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports["POLLS_PORT"] = taken.getsockname()[1]
        runner = Runner(new_user_environment(var_dir, ports))
        try:
            code = runner.wait(60)
        finally:
            runner.force_stop()
    port = ports["POLLS_PORT"]
    assert code == 1, runner.output
    assert f"port {port} (polls web) is already in use" in runner.output
    assert "POLLS_PORT" in runner.output
    assert "started (pid=" not in runner.output
    assert processes_with(var_dir) == []
    assert not groups_alive({runner.proc.pid})


def test_up_runs_nats_where_a_service_looks_for_it_by_default():
    from shared_events.kit.service_settings import EMBEDDED_NATS_PORT

    assert manage_all.EMBEDDED_NATS_PORT == EMBEDDED_NATS_PORT


def test_the_runner_of_up_loads_none_of_the_services_packages():
    """The runner stays up as long as the platform: it must not import Django, Celery or
    shared_events itself (tens of MiB, for nothing)."""
    probe = (
        "import sys, manage_all\n"
        "manage_all.platform_processes(manage_all.platform_config())\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'shared_events', 'django',"
        " 'celery', 'kombu', 'rest_framework', 'cryptography', 'nats'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=new_user_environment(Path("/nonexistent"), {}),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


def test_every_process_of_up_signs_in_to_nats_as_its_own_service(tmp_path):
    """`up` writes the embedded server's users once (owner-only) and gives each process its
    own service's; with a NATS of your own, <SERVICE>_NATS_PASSWORD is that service's."""
    import stat

    var_dir = tmp_path / "var"
    config = manage_all.platform_config({"VAR_DIR": str(var_dir)})
    specs = {s.name: s for s in manage_all.platform_processes(config)}
    nats_argv = specs["nats"].argv
    conf = Path(nats_argv[nats_argv.index("-c") + 1])
    passwords = {}
    for user in (*manage_all.SERVICES, "admin"):
        path = var_dir / "nats-auth" / f"{user}.password"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        passwords[user] = path.read_text()
        assert f'user: "{user}"\n      password: "{passwords[user]}"' in conf.read_text()
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    assert len(set(passwords.values())) == len(passwords)
    for name, spec in specs.items():
        service = name.split("-")[0]
        if service in manage_all.SERVICES:
            assert (spec.env["NATS_USER"], spec.env["NATS_PASSWORD"]) == (
                service,
                passwords[service],
            ), name
    # Started again, the same passwords: processes started later must match the server.
    again = manage_all.platform_processes(manage_all.platform_config({"VAR_DIR": str(var_dir)}))
    assert {s.env.get("NATS_PASSWORD") for s in again} - {None} == {
        passwords[s] for s in manage_all.SERVICES
    }
    assert f"admin:{passwords['admin']}@" in config.nats_admin_url

    own = manage_all.platform_config(
        {"VAR_DIR": str(var_dir), "NATS_URL": "nats://n:4222", "POLLS_NATS_PASSWORD": "p1"}
    )
    assert manage_all.service_env(own, "polls")["NATS_PASSWORD"] == "p1"
    assert "NATS_PASSWORD" not in manage_all.service_env(own, "voting")


def _spec(name: str, argv: list[str]) -> manage_all.ProcessSpec:
    return manage_all.ProcessSpec(name, argv, ROOT, dict(os.environ))


def test_when_one_process_of_up_stops_the_others_are_stopped_with_its_exit_code(capsys):
    sleeper = _spec("sleeper", ["sleep", "600"])
    quitter = _spec("quitter", [sys.executable, "-c", "print('done here'); raise SystemExit(3)"])
    group = manage_all.ProcessGroup([sleeper, quitter])
    assert group.run() == 3
    out = capsys.readouterr().out
    assert re.search(r"^\d\d:\d\d:\d\d quitter +\| done here$", out, re.M), out
    assert "sending SIGTERM to sleeper" in out and "sleeper stopped (rc=-15)" in out, out
    assert all(proc.poll() is not None for proc in group.running.values())


def test_a_process_of_up_that_cannot_start_stops_those_already_started(capsys):
    sleeper = _spec("sleeper", ["sleep", "600"])
    missing = _spec("missing", ["/nonexistent/server"])
    group = manage_all.ProcessGroup([sleeper, missing])
    assert group.run() == 127
    out = capsys.readouterr().out
    assert "missing cannot start" in out and "sleeper stopped (rc=-15)" in out, out


def test_beat_and_consumer_run_in_the_worker_on_the_embedded_default_only(tmp_path):
    """COMBINE_ROLES: unset, combined where `up` runs NATS and Redis itself (the laptop);
    separate on a NATS and broker of your own (the system tests' platform), as in the pods."""

    def roles(**environ: str) -> tuple[dict[str, list[str]], dict[str, str]]:
        config = manage_all.platform_config({"VAR_DIR": str(tmp_path / "var"), **environ})
        specs = manage_all.platform_processes(config)
        return {s.name: s.argv for s in specs}, manage_all.metrics_urls(config)

    options = ["--beat-thread", "--consumer-thread"]
    own = {"NATS_URL": "nats://127.0.0.1:4222", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}
    for environ, combined in (
        ({}, True),
        ({"COMBINE_ROLES": "0"}, False),
        (own, False),
        ({**own, "COMBINE_ROLES": "1"}, True),
    ):
        argv, urls = roles(**environ)
        for service in manage_all.SERVICES:
            worker = argv[f"{service}-worker"]
            assert (worker[-2:] == options) is combined, (environ, worker)
            assert (f"{service}-beat" in argv) is not combined, environ
            assert (f"{service}-consumer" in argv) is not combined, environ
            shared = urls[f"{service}-beat"] == urls[f"{service}-worker"]
            assert (
                shared is combined
                and (urls[f"{service}-consumer"] == urls[f"{service}-worker"]) is combined
            )
        assert len(argv) == (8 if combined else 14) - (0 if "NATS_URL" not in environ else 2)
    with pytest.raises(SystemExit):
        roles(COMBINE_ROLES="yes")
