"""A delegator's account, created and changed in accounts_service, reaches voting_service's
replica over NATS; polls_service accepts the token with only the public key."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import pytest

from shared_events.testing import wait_until
from tests.system.harness import Platform, Response, http

PASSWORD = "a-long-enough-passphrase-42"
REPLICATION_TIMEOUT = 30.0


def sign_in(platform: Platform, email: str, password: str = PASSWORD) -> Response:
    return platform.api("POST", "accounts", "token/", {"email": email, "password": password})


def wait_for_voter(platform: Platform, token: str, what: str, condition,
                   since: float | None = None) -> float:
    """Seconds from `since` (default: now) until voting's `me/` shows the replica in the
    expected state."""
    started = time.monotonic() if since is None else since
    last: list[Response] = []

    def check() -> bool:
        response = platform.api("GET", "voting", "me/", token=token)
        last[:] = [response]
        return response.status == 200 and condition(response.body)

    try:
        wait_until(check, timeout=REPLICATION_TIMEOUT, interval=0.02, message=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; voting's me/ last answered {last}") from None
    return time.monotonic() - started


def test_an_account_and_its_changes_reach_voting(platform: Platform, capsys):
    timings: dict[str, float] = {}
    email = f"delegator-{uuid.uuid4().hex[:8]}@example.com"

    # 1. A delegator registers with accounts_service and gets an id.
    registered = platform.api("POST", "accounts", "register/",
                              {"email": email, "password": PASSWORD})
    assert registered.status == 201, registered
    account_id = registered.body["id"]

    # 2. They sign in: an access/refresh pair of JWTs.
    tokens = sign_in(platform, email)
    assert tokens.status == 200, tokens
    assert set(tokens.body) >= {"access", "refresh"}
    access = tokens.body["access"]

    # 3. voting_service's replica of the account appears with the initial grant of 100 points.
    #    (Signing in took part of the time waited: the servers' own clocks say how long the
    #    replication itself took.)
    wait_for_voter(platform, access, "the new voter in voting with 100 points",
                   lambda me: me["id"] == account_id and me["points"] == 100 and me["can_vote"])
    voter = platform.api("GET", "voting", "me/", token=access).body
    timings["registration"] = (datetime.fromisoformat(voter["replicated_at"])
                               - datetime.fromisoformat(registered.body["date_joined"])
                               ).total_seconds()

    # 4. polls_service accepts the token (it holds only the public key) and refuses no token.
    assert platform.api("GET", "polls", "causes/", token=access).status == 200
    assert platform.api("GET", "polls", "causes/").status == 401

    # 5. An operator is created the way an operator would: manage.py createoperator.
    operator_email = f"operator-{uuid.uuid4().hex[:8]}@example.com"
    created = platform.manage("accounts", "createoperator", "--email", operator_email,
                              "--password", PASSWORD)
    assert created.returncode == 0, created.stdout + created.stderr
    operator = sign_in(platform, operator_email)
    assert operator.status == 200, operator
    operator_access = operator.body["access"]

    # 6. The operator grants 25 points; voting's replica follows to 125.
    granted = platform.api("POST", "accounts", f"accounts/{account_id}/points/",
                           {"delta": 25, "reason": "test"}, token=operator_access)
    assert granted.status == 201, granted
    timings["points adjustment"] = wait_for_voter(
        platform, access, "125 points in voting", lambda me: me["points"] == 125,
        since=time.monotonic())

    # 7. The operator deactivates the account: no new token, and voting's replica (read with
    #    the access token issued before, still valid until it expires) can no longer vote.
    deactivated = platform.api("PATCH", "accounts", f"accounts/{account_id}/",
                               {"is_active": False}, token=operator_access)
    deactivated_at = time.monotonic()
    assert deactivated.status == 200, deactivated
    assert deactivated.body["is_active"] is False
    assert sign_in(platform, email).status == 401
    timings["deactivation"] = wait_for_voter(
        platform, access, "the voter inactive in voting",
        lambda me: me["is_active"] is False and me["can_vote"] is False, since=deactivated_at)

    with capsys.disabled():
        print("\nreplication to voting: " + ", ".join(
            f"{what} {seconds * 1000:.0f} ms" for what, seconds in timings.items()))


@pytest.mark.parametrize("service", ["accounts", "polls", "voting"])
def test_every_service_serves_its_schema_docs_and_admin(platform: Platform, service: str):
    for path in ("api/schema/", "api/docs/", "admin/login/"):
        response = http("GET", platform.url(service, path), accept="*/*")
        assert response.status == 200, (path, response)
