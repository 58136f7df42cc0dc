"""What an operator sees: health endpoints per service, and `manage_all.py status` with each
service's outbox backlog, consumer lag per stream and dead letters, on a healthy platform and
while something is wrong (a dead letter, a stopped consumer)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from typing import Any

from shared_events.testing import wait_until
from tests.system import natsctl
from tests.system.actors import create_operator
from tests.system.convergence import new_delegator
from tests.system.harness import ROOT, Platform, http


def manage_all_status(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    assert platform.config is not None
    return subprocess.run([sys.executable, "manage_all.py", "status", *args], cwd=ROOT,
                          env=platform.config.environ, capture_output=True, text=True,
                          timeout=90)


def test_liveness_and_readiness_per_service(platform: Platform):
    for service in ("accounts", "polls", "voting"):
        live = http("GET", platform.url(service, "health/live"))
        ready = http("GET", platform.url(service, "health/ready"))
        assert (live.status, live.body) == (200, {"status": "ok"}), (service, live)
        assert ready.status == 200 and ready.body["database"] == "ok", (service, ready)


def test_status_shows_health_backlog_lag_and_dead_letters(platform: Platform, capsys):
    result = manage_all_status(platform, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    status = json.loads(result.stdout)
    assert status["healthy"] and status["nats"]["reachable"]
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
    assert services["accounts"]["events"]["consumers"] == {}
    for lag in services["voting"]["events"]["consumers"].values():
        assert {"pending", "unacked", "redelivered"} <= set(lag), lag

    text = manage_all_status(platform)
    assert text.returncode == 0, text.stdout + text.stderr
    assert "outbox:" in text.stdout and "consumer ACCOUNTS: lag" in text.stdout, text.stdout
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
    url = platform.config.nats_url
    shown: list[dict[str, Any]] = []

    def status_shows(condition) -> bool:
        events = voting_events(platform)
        shown[:] = [events]
        return condition(events)

    # 1. Something voting cannot decode, straight into a subject it follows: a dead letter.
    dead_before = voting_events(platform)["dead_letters"]["dead"]
    ack = natsctl.publish(url, f"accounts.account.{uuid.uuid4()}", b"\xff\xfe{ not an event",
                          {"Nats-Msg-Id": uuid.uuid4().hex})
    assert not ack["duplicate"], ack
    try:
        wait_until(lambda: status_shows(lambda e: e["dead_letters"]["dead"] >= dead_before + 1),
                   timeout=60, interval=0.5, message="status to show the new dead letter")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; status last showed {shown}") from None

    # 2. voting's consumer stopped: an account change made now waits in the stream, and status
    #    shows it as lag on voting's ACCOUNTS consumer.
    operator = create_operator(platform)
    voter = new_delegator(platform)
    wait_until(lambda: _voting_points(platform, voter.token) == 100, timeout=30,
               message="the delegator in voting")
    platform.stop("voting-consumer")
    try:
        changed = platform.api("POST", "accounts", f"accounts/{voter.id}/points/",
                               {"delta": 5, "reason": "status test"}, token=operator.token)
        assert changed.status == 201, changed
        try:
            wait_until(lambda: status_shows(lambda e: e["consumers"]["ACCOUNTS"]
                                            .get("pending", 0) >= 1),
                       timeout=60, interval=0.5, message="status to show the consumer's lag")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; status last showed {shown}") from None
        lagging = shown[0]["consumers"]["ACCOUNTS"]
        assert _voting_points(platform, voter.token) == 100  # not applied: nobody consumes
        text = manage_all_status(platform)
        assert re.search(r"consumer ACCOUNTS: lag [1-9]", text.stdout), text.stdout  # as text
    finally:
        if platform.procs["voting-consumer"].poll() is not None:
            platform.spawn("voting-consumer")
    restarted = time.monotonic()

    # 3. Restarted, it catches up: lag 0, nothing in flight, the change applied.
    try:
        wait_until(lambda: status_shows(lambda e: e["consumers"]["ACCOUNTS"].get("pending")
                                        == 0 and e["consumers"]["ACCOUNTS"].get("unacked") == 0),
                   timeout=60, interval=0.5, message="status to show the lag back at 0")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; status last showed {shown}") from None
    caught_up = time.monotonic() - restarted
    assert _voting_points(platform, voter.token) == 105
    with capsys.disabled():
        print(f"\n[status] dead letters {dead_before} -> {shown[0]['dead_letters']['dead']}; "
              f"voting's ACCOUNTS lag {lagging['pending']} while its consumer was stopped, "
              f"0 again {caught_up:.1f} s after the restart")


def _voting_points(platform: Platform, token: str) -> int | None:
    me = platform.api("GET", "voting", "me/", token=token)
    return me.body["points"] if me.status == 200 else None
