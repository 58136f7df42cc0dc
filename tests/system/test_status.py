"""What an operator sees: health endpoints per service, and `manage_all.py status` with each
service's outbox backlog, consumer lag per stream and dead letters."""

from __future__ import annotations

import json
import subprocess
import sys

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
    assert set(services["polls"]["events"]["consumers"]) == {"VOTING"}
    assert services["accounts"]["events"]["consumers"] == {}
    for lag in services["voting"]["events"]["consumers"].values():
        assert {"pending", "unacked", "redelivered"} <= set(lag), lag

    text = manage_all_status(platform)
    assert text.returncode == 0, text.stdout + text.stderr
    assert "outbox:" in text.stdout and "consumer ACCOUNTS: lag" in text.stdout, text.stdout
    with capsys.disabled():
        print("\n" + text.stdout)
