"""Every process of the running platform serves Prometheus metrics, and they move when real
events flow: a registration counts as published by accounts' relay and as applied by voting's
consumer; a stopped consumer's lag grows (read by its service's beat from JetStream); a dead
letter shows. The web's metrics are never served to a request that came through a proxy."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from prometheus_client.parser import text_string_to_metric_families

import manage_all
from shared_events.core.testing import wait_until
from tests.system import natsctl
from tests.system.convergence import new_delegator
from tests.system.harness import ROOT, Platform, http

TIMEOUT = 30.0


def scrape(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    answer = http("GET", url, accept="text/plain", headers=headers)
    return answer.status, answer.body if isinstance(answer.body, str) else str(answer.body)


def samples(platform: Platform, process: str) -> dict[tuple[str, frozenset], float]:
    """One scrape of a process: {(sample name, its labels): value}."""
    assert platform.config is not None
    status, text = scrape(manage_all.metrics_urls(platform.config)[process])
    assert status == 200, f"{process}: {status} {text[:300]}"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def metric(platform: Platform, process: str, name: str, **labels: str) -> float | None:
    return samples(platform, process).get((name, frozenset(labels.items())))


def test_every_process_serves_its_metrics(platform: Platform):
    assert platform.config is not None
    for process, url in manage_all.metrics_urls(platform.config).items():
        status, text = scrape(url)
        assert status == 200, f"{process} at {url}: {status}"
        assert "# TYPE" in text, process
    # The beats read their gauges when scraped: each service's own are there.
    assert metric(platform, "accounts-beat", "outbox_pending_events", service="accounts") == 0
    assert metric(platform, "accounts-beat", "jetstream_up", service="accounts") == 1
    assert metric(platform, "accounts-beat", "chain_source_stale_seconds", service="accounts") == 0
    assert (
        metric(platform, "polls-beat", "polls_unfinalized_past_close", service="polls") is not None
    )
    # Present (the platform is shared: earlier tests may have stored dead letters).
    stored = metric(platform, "voting-beat", "consumer_dead_letter_events", service="voting")
    assert stored is not None and stored >= 0


def test_the_web_metrics_never_answer_through_the_gateway(platform: Platform):
    for service in ("accounts", "polls", "voting"):
        url = platform.url(service, "metrics")
        inside, text = scrape(url)
        assert inside == 200 and "http_requests_total" in text, service
        # Every proxy on the way in (the Gateway, an ingress) adds X-Forwarded-For.
        through, text = scrape(url, {"X-Forwarded-For": "203.0.113.9"})
        assert through == 404 and "http_requests_total" not in text, service
        # Prometheus scrapes a pod by its IP: a Host that ALLOWED_HOSTS does not list.
        by_address, text = scrape(url, {"Host": "10.0.0.7:8000"})
        assert by_address == 200 and "http_requests_total" in text, service


def test_a_registration_moves_published_and_applied(platform: Platform):
    published = "outbox_events_published_total"
    applied = "consumer_events_applied_total"
    lag = "replication_lag_seconds_count"
    before_published = metric(platform, "accounts-worker", published, service="accounts") or 0
    voting = {"service": "voting", "stream": "accounts"}
    before_applied = metric(platform, "voting-consumer", applied, **voting) or 0
    before_lag = metric(platform, "voting-consumer", lag, **voting) or 0
    created = {
        "service": "accounts",
        "route": "accounts/api/register/",
        "method": "POST",
        "status": "201",
    }
    before_201 = metric(platform, "accounts-web", "http_requests_total", **created) or 0

    new_delegator(platform)

    wait_until(
        lambda: (
            (metric(platform, "accounts-worker", published, service="accounts") or 0)
            > before_published
        ),
        timeout=TIMEOUT,
        message="accounts' relay to count the registration's event",
    )
    wait_until(
        lambda: (metric(platform, "voting-consumer", applied, **voting) or 0) > before_applied,
        timeout=TIMEOUT,
        message="voting's consumer to count the account applied",
    )
    assert (metric(platform, "voting-consumer", lag, **voting) or 0) > before_lag
    assert metric(platform, "accounts-web", "http_requests_total", **created) == before_201 + 1


def test_a_stopped_consumer_shows_its_lag_growing(platform: Platform):
    lag = {"service": "voting", "stream": "accounts"}
    wait_until(
        lambda: metric(platform, "voting-beat", "consumer_lag_events", **lag) == 0,
        timeout=TIMEOUT,
        message="voting's consumer to be caught up",
    )
    platform.stop("voting-consumer")
    try:
        seen = [0.0]
        for _ in range(2):
            new_delegator(platform)
            wait_until(
                lambda: (
                    (metric(platform, "voting-beat", "consumer_lag_events", **lag) or 0) > seen[-1]
                ),
                timeout=TIMEOUT,
                message="voting's lag to grow",
            )
            seen.append(metric(platform, "voting-beat", "consumer_lag_events", **lag) or 0)
        assert seen[1] < seen[2]
        # polls' consumer of the same stream runs: its lag does not grow.
        polls_lag = {"service": "polls", "stream": "accounts"}
        wait_until(
            lambda: metric(platform, "polls-beat", "consumer_lag_events", **polls_lag) == 0,
            timeout=TIMEOUT,
            message="polls' consumer to stay caught up",
        )
    finally:
        platform.spawn("voting-consumer")
    wait_until(
        lambda: metric(platform, "voting-beat", "consumer_lag_events", **lag) == 0,
        timeout=TIMEOUT,
        message="voting's consumer to catch up after its restart",
    )


def test_a_dead_letter_shows(platform: Platform):
    assert platform.config is not None
    labels = {"service": "voting", "stream": "accounts"}
    dead_before = metric(platform, "voting-consumer", "consumer_dead_letters_total", **labels) or 0
    stored_before = metric(platform, "voting-beat", "consumer_dead_letter_events", service="voting")
    assert stored_before is not None

    # A message no handler can read, straight into a subject voting follows.
    subject = f"accounts.account.{uuid.uuid4()}"
    ack = natsctl.publish(
        platform.config.nats_admin_url,
        subject,
        json.dumps({"not": "an envelope"}).encode(),
        {"Nats-Msg-Id": uuid.uuid4().hex},
    )
    assert not ack["duplicate"]

    wait_until(
        lambda: (
            (metric(platform, "voting-consumer", "consumer_dead_letters_total", **labels) or 0)
            == dead_before + 1
        ),
        timeout=TIMEOUT,
        message="voting's consumer to count the dead letter",
    )
    wait_until(
        lambda: (
            metric(platform, "voting-beat", "consumer_dead_letter_events", service="voting")
            == stored_before + 1
        ),
        timeout=TIMEOUT,
        message="voting's beat to read the stored dead letter",
    )


def test_status_says_where_each_process_serves_its_metrics(platform: Platform):
    assert platform.config is not None
    shown = subprocess.run(
        [sys.executable, "manage_all.py", "status", "--json"],
        cwd=ROOT,
        env=platform.config.environ,
        capture_output=True,
        text=True,
        timeout=90,
    )
    report = json.loads(shown.stdout)["services"]  # exit 1 too if a dead letter is left
    urls = manage_all.metrics_urls(platform.config)
    for service in ("accounts", "polls", "voting"):
        assert report[service]["metrics"] == {
            role: {"url": urls[f"{service}-{role}"], "answers": True}
            for role in ("web", "worker", "beat", "consumer")
        }, service
