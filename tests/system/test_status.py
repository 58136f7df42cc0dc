"""What an operator sees: health endpoints per service, and `manage_all.py status` with each
service's outbox backlog, consumer lag per stream and dead letters, on a healthy platform and
while something is wrong (a dead letter, a stopped consumer, a hung NATS): then it exits 1 and
says why."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

from shared_events.core.testing import wait_until
from tests.system import natsctl
from tests.system.actors import create_operator
from tests.system.convergence import new_delegator
from tests.system.harness import ROOT, Platform, http


def manage_all_status(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    assert platform.config is not None
    return subprocess.run(
        [sys.executable, "manage_all.py", "status", *args],
        cwd=ROOT,
        env=platform.config.environ,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_liveness_and_readiness_per_service(platform: Platform):
    for service in ("accounts", "polls", "voting"):
        live = http("GET", platform.url(service, "health/live"))
        ready = http("GET", platform.url(service, "health/ready"))
        assert (live.status, live.body) == (200, {"status": "ok"}), (service, live)
        assert ready.status == 200 and ready.body["database"] == "ok", (service, ready)


def discard_dead_letters(platform: Platform) -> None:
    """As an operator would in the admin once they are dealt with: earlier tests on this
    session's platform leave dead letters on purpose, and any dead letter is a problem."""
    code = (
        "from django.utils import timezone\n"
        "from shared_events.core.consumer.models import DeadLetter as D\n"
        "D.objects.filter(status=D.Status.DEAD).update(status=D.Status.DISCARDED, "
        "resolved_at=timezone.now())\nprint('DONE')"
    )
    for service in ("polls", "voting"):
        done = platform.manage(service, "shell", "-c", code)
        assert "DONE" in done.stdout, done.stdout + done.stderr


def wait_healthy(platform: Platform, timeout: float = 60) -> tuple[dict[str, Any], float]:
    """The status once it says healthy (exit 0), and how long that took."""
    started = time.monotonic()
    shown: list[Any] = []

    def healthy() -> bool:
        result = manage_all_status(platform, "--json")
        shown[:] = [result.returncode, result.stdout[-3000:], result.stderr[-1000:]]
        return result.returncode == 0

    try:
        wait_until(healthy, timeout=timeout, interval=1.0, message="status to say healthy")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; status last showed {shown}") from None
    return json.loads(shown[1]), time.monotonic() - started


def test_status_shows_health_backlog_lag_and_dead_letters(platform: Platform, capsys):
    discard_dead_letters(platform)
    status, _ = wait_healthy(platform)
    assert status["healthy"] and status["nats"]["reachable"] and status["problems"] == []
    services = status["services"]
    assert set(services) == {"accounts", "polls", "voting"}
    for service, report in services.items():
        assert (report["live"], report["ready"]) == (200, 200), service
        events = report["events"]
        assert isinstance(events["outbox"]["pending"], int), events
        assert "oldest_pending_age_seconds" in events["outbox"]
        assert isinstance(events["dead_letters"]["dead"], int)
    # Which streams each service follows, with the lag of its durable consumer on each.
    assert set(services["voting"]["events"]["consumers"]) == {"ACCOUNTS", "POLLS"}
    assert set(services["polls"]["events"]["consumers"]) == {"ACCOUNTS", "VOTING"}
    # accounts follows polls and voting for the notifications it sends.
    assert set(services["accounts"]["events"]["consumers"]) == {"POLLS", "VOTING"}
    for service in services.values():
        for lag in service["events"]["consumers"].values():
            assert {"pending", "unacked", "redelivered"} <= set(lag), lag

    for report in services.values():
        assert report["events"]["healthy"] and report["events"]["nats"]["answers"], report
    # accounts also says where the pool's stake distribution comes from: here, nowhere.
    chain = services["accounts"]["chain"]
    assert (chain["source"], chain["open_mode"], chain["problems"]) == ("none", True, []), chain

    text = manage_all_status(platform)
    assert text.returncode == 0, text.stdout + text.stderr
    assert "outbox:" in text.stdout and "consumer ACCOUNTS: lag" in text.stdout, text.stdout
    assert "chain source: none (open mode" in text.stdout, text.stdout
    assert text.stdout.rstrip().endswith("healthy"), text.stdout
    with capsys.disabled():
        print("\n" + text.stdout)


def voting_events(platform: Platform) -> dict[str, Any]:
    """voting's part of `manage_all.py status --json`: outbox, consumers, dead letters."""
    result = manage_all_status(platform, "--json")
    assert result.stdout.strip(), result.stderr
    events = json.loads(result.stdout)["services"]["voting"]["events"]
    assert "error" not in events, events
    return events


def test_status_shows_a_dead_letter_and_a_stopped_consumers_lag(platform: Platform, capsys):
    url = platform.config.nats_admin_url
    shown: list[dict[str, Any]] = []

    def status_shows(condition) -> bool:
        events = voting_events(platform)
        shown[:] = [events]
        return condition(events)

    # 1. Something voting cannot decode, straight into a subject it follows: a dead letter.
    dead_before = voting_events(platform)["dead_letters"]["dead"]
    ack = natsctl.publish(
        url,
        f"accounts.account.{uuid.uuid4()}",
        b"\xff\xfe{ not an event",
        {"Nats-Msg-Id": uuid.uuid4().hex},
    )
    assert not ack["duplicate"], ack
    try:
        wait_until(
            lambda: status_shows(lambda e: e["dead_letters"]["dead"] >= dead_before + 1),
            timeout=60,
            interval=0.5,
            message="status to show the new dead letter",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; status last showed {shown}") from None
    # Unhealthy, and it says why.
    verdict = manage_all_status(platform, "--json")
    assert verdict.returncode == 1, verdict.stdout + verdict.stderr
    said = json.loads(verdict.stdout)
    assert not said["healthy"] and any(
        p.startswith("voting: dead letters: ") for p in said["problems"]
    ), said["problems"]

    # 2. voting's consumer stopped: an account change made now waits in the stream, and status
    #    shows it as lag on voting's ACCOUNTS consumer.
    operator = create_operator(platform)
    voter = new_delegator(platform)
    wait_until(
        lambda: _voting_points(platform, voter.token) == 100,
        timeout=30,
        message="the delegator in voting",
    )
    platform.stop("voting-consumer")
    try:
        changed = platform.api(
            "POST",
            "accounts",
            f"accounts/{voter.id}/points/",
            {"delta": 5, "reason": "status test"},
            token=operator.token,
        )
        assert changed.status == 201, changed
        try:
            wait_until(
                lambda: status_shows(lambda e: e["consumers"]["ACCOUNTS"].get("pending", 0) >= 1),
                timeout=60,
                interval=0.5,
                message="status to show the consumer's lag",
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}; status last showed {shown}") from None
        lagging = shown[0]["consumers"]["ACCOUNTS"]
        assert _voting_points(platform, voter.token) == 100  # not applied: nobody consumes
        text = manage_all_status(platform)
        assert re.search(r"consumer ACCOUNTS: lag [1-9]", text.stdout), text.stdout  # as text
        # A lag that does not shrink is a problem: exit 1, and the text says which.
        assert text.returncode == 1, text.stdout + text.stderr
        assert "UNHEALTHY" in text.stdout and re.search(
            r"voting: consumer ACCOUNTS: lag [1-9]\d* not shrinking", text.stdout
        ), text.stdout
    finally:
        if platform.procs["voting-consumer"].poll() is not None:
            platform.spawn("voting-consumer")
    restarted = time.monotonic()

    # 3. Restarted, it catches up: lag 0, nothing in flight, the change applied.
    try:
        wait_until(
            lambda: status_shows(
                lambda e: (
                    e["consumers"]["ACCOUNTS"].get("pending") == 0
                    and e["consumers"]["ACCOUNTS"].get("unacked") == 0
                )
            ),
            timeout=60,
            interval=0.5,
            message="status to show the lag back at 0",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; status last showed {shown}") from None
    caught_up = time.monotonic() - restarted
    assert _voting_points(platform, voter.token) == 105
    discard_dead_letters(platform)
    wait_healthy(platform)  # nothing else was wrong
    with capsys.disabled():
        print(
            f"\n[status] dead letters {dead_before} -> {shown[0]['dead_letters']['dead']}; "
            f"voting's ACCOUNTS lag {lagging['pending']} while its consumer was stopped, "
            f"0 again {caught_up:.1f} s after the restart"
        )


def _voting_points(platform: Platform, token: str) -> int | None:
    me = platform.api("GET", "voting", "me/", token=token)
    return me.body["points"] if me.status == 200 else None


def test_status_says_a_hung_nats_does_not_answer_and_healthy_once_it_resumes(
    platform: Platform, capsys
):
    """NATS frozen (SIGSTOP): it still accepts connections, so only a ping tells. Status exits 1
    naming NATS; after SIGCONT the relays and consumers carry on (no restart) and a change made
    during the hang reaches voting."""
    operator = create_operator(platform)
    voter = new_delegator(platform)
    wait_until(
        lambda: _voting_points(platform, voter.token) == 100,
        timeout=30,
        message="the delegator in voting",
    )
    discard_dead_letters(platform)
    wait_healthy(platform)
    nats = platform.procs["nats"]
    os.killpg(nats.pid, signal.SIGSTOP)
    try:
        changed = platform.api(
            "POST",
            "accounts",
            f"accounts/{voter.id}/points/",
            {"delta": 7, "reason": "status during a hang"},
            token=operator.token,
        )
        assert changed.status == 201, changed  # accounts' own write needs no NATS
        shown = manage_all_status(platform, "--json")
    finally:
        os.killpg(nats.pid, signal.SIGCONT)
    resumed = time.monotonic()
    assert shown.returncode == 1, shown.stdout + shown.stderr
    status = json.loads(shown.stdout)
    assert not status["healthy"] and not status["nats"]["reachable"]
    assert any(p.startswith("nats: does not answer") for p in status["problems"]), status
    wait_until(
        lambda: _voting_points(platform, voter.token) == 107,
        timeout=60,
        message="the change made during the hang to reach voting",
    )
    applied = time.monotonic() - resumed
    _, healthy_after = wait_healthy(platform)
    with capsys.disabled():
        print(
            f"\n[status] NATS hung: status exit {shown.returncode}, problems "
            f"{status['problems'][:4]}; the change made during the hang applied in voting "
            f"{applied:.1f} s after SIGCONT, status healthy {healthy_after:.1f} s after that"
        )
