"""One request id follows a registration from the API call through NATS into voting's replica:
`grep <id>` finds it in accounts' web log, in accounts' relay line for the event, and in the
consumers' lines for that event. The platform runs as deployments do, with LOG_FORMAT=json."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from shared_events.core.testing import wait_until
from tests.system.harness import Platform, http, started_platform

PASSWORD = "a-long-enough-passphrase-42"


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    """A platform of this module's own, logging as the kustomize ConfigMap says."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOG_FORMAT", "json")
        patch.setenv("CELERY_QUIET", "1")
        with started_platform() as running:
            yield running


def log_lines(platform: Platform, process: str) -> list[dict[str, Any]]:
    """The lines of a process's log, each parsed as JSON (a line that is not JSON fails the
    test). Skipped: the harness's own "started" lines, and in a Celery worker what Python and
    Celery print before logging is set up (the warning about running as root, here)."""
    path = platform.log_dir / f"{process}.log"
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        if not raw.strip() or raw.startswith("----- started"):
            continue
        if process.endswith("-worker") and not raw.startswith("{"):
            continue
        lines.append(json.loads(raw))
    return lines


def lines_with(platform: Platform, process: str, request_id: str) -> list[dict[str, Any]]:
    return [line for line in log_lines(platform, process) if line.get("request_id") == request_id]


def register(platform: Platform, request_id: str, email: str = "") -> tuple[str, str]:
    """A new delegator, registered with `request_id`: their account id and the id answered."""
    email = email or f"traced-{uuid.uuid4().hex[:8]}@example.com"
    answer = http(
        "POST",
        platform.url("accounts", "api/register/"),
        {"email": email, "password": PASSWORD},
        headers={"X-Request-ID": request_id},
    )
    assert answer.status == 201, answer
    return answer.body["id"], answer.headers["X-Request-ID"]


def test_a_registrations_request_id_is_in_every_log_line_on_its_way_to_voting(
    platform: Platform,
):
    # 1. A registration with a request id of the caller's (a proxy's, say): answered with it.
    request_id = f"systest-{uuid.uuid4()}"
    account_id, answered = register(platform, request_id)
    assert answered == request_id

    # 2. Voting's consumer applies the account's event: its line names the request, the
    #    event and the account.
    def applied_in(service: str) -> list[dict[str, Any]]:
        return [
            line
            for line in lines_with(platform, f"{service}-consumer", request_id)
            if line["message"].startswith("applied accounts.account.created")
        ]

    wait_until(
        lambda: applied_in("voting") and applied_in("polls"),
        timeout=30,
        message="the consumers' lines for the registration's event",
    )
    [applied] = applied_in("voting")
    assert applied["service"] == "voting" and applied["role"] == "consumer", applied
    assert applied["account_id"] == account_id, applied
    assert applied["event_type"] == "accounts.account.created", applied
    event_id = applied["event_id"]
    assert applied["level"] == "INFO" and applied["time"], applied

    # 3. Accounts' web log: the request's own line, with the same id.
    [request_line] = [
        line
        for line in lines_with(platform, "accounts-web", request_id)
        if line["logger"] == "shared_events.kit.request_id"
    ]
    assert request_line["message"] == "POST /accounts/api/register/ 201", request_line
    assert request_line["service"] == "accounts" and request_line["role"] == "web"

    # 4. Accounts' relay (in its Celery worker) published that very event for that request.
    published = [
        line
        for line in lines_with(platform, "accounts-worker", request_id)
        if line["message"].startswith("published")
    ]
    assert [(p["event_id"], p["event_type"]) for p in published] == [
        (event_id, "accounts.account.created")
    ], published
    assert published[0]["role"] == "worker" and published[0]["account_id"] == account_id

    # 5. Polls replicates accounts too: the same event, the same request.
    assert [line["event_id"] for line in applied_in("polls")] == [event_id]


def test_a_request_id_that_is_not_sane_is_replaced(platform: Platform):
    # Too long, or with characters a log line or a header should not carry: not trusted.
    for sent in ("x" * 65, "two words", "<script>"):
        account_id, answered = register(platform, sent)
        assert answered != sent and 1 <= len(answered) <= 64, answered
        assert answered.isalnum(), answered
        wait_until(
            lambda a=answered: lines_with(platform, "accounts-web", a),
            timeout=10,
            message="the request's line with the new id",
        )
        web_log = (platform.log_dir / "accounts-web.log").read_text(errors="replace")
        assert sent not in web_log


def test_a_signed_in_request_names_the_account_and_the_poll_of_its_url(platform: Platform):
    email = f"signed-in-{uuid.uuid4().hex[:8]}@example.com"
    account_id, _ = register(platform, f"register-{uuid.uuid4()}", email)
    tokens = platform.api("POST", "accounts", "token/", {"email": email, "password": PASSWORD})
    assert tokens.status == 200, tokens

    # A poll voting does not know: a 404, and its line still says who asked about what.
    poll_id, request_id = str(uuid.uuid4()), f"tally-{uuid.uuid4()}"
    answer = http(
        "GET",
        platform.url("voting", f"api/polls/{poll_id}/tally/"),
        token=tokens.body["access"],
        headers={"X-Request-ID": request_id},
    )
    assert answer.status == 404 and answer.headers["X-Request-ID"] == request_id, answer
    wait_until(
        lambda: lines_with(platform, "voting-web", request_id),
        timeout=10,
        message="voting's line for the request",
    )
    [line] = lines_with(platform, "voting-web", request_id)
    assert line["message"] == f"GET /voting/api/polls/{poll_id}/tally/ 404", line
    assert (line["account_id"], line["poll_id"]) == (account_id, poll_id), line
    assert (line["service"], line["role"]) == ("voting", "web"), line
