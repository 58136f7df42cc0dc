"""A delegator's account, created and changed in accounts_service (over the API and in its
admin), reaches voting_service's replica over NATS; polls_service accepts the token with only
the public key."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime

import pytest

from shared_events.core.testing import wait_until
from tests.system.actors import admin_browser, create_operator, csrf_token, form_fields, post_form
from tests.system.harness import Platform, Response, http

PASSWORD = "a-long-enough-passphrase-42"
REPLICATION_TIMEOUT = 30.0


def sign_in(platform: Platform, email: str, password: str = PASSWORD) -> Response:
    return platform.api("POST", "accounts", "token/", {"email": email, "password": password})


def register_and_sign_in(platform: Platform, email: str) -> tuple[Response, Response]:
    """A new delegator over the API: the registration's answer and the sign-in's."""
    registered = platform.api(
        "POST", "accounts", "register/", {"email": email, "password": PASSWORD}
    )
    assert registered.status == 201, registered
    tokens = sign_in(platform, email)
    assert tokens.status == 200, tokens
    return registered, tokens


def wait_for_voter(
    platform: Platform, token: str, what: str, condition, since: float | None = None
) -> float:
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

    # 1. A delegator registers with accounts_service and gets an id; 2. they sign in: an
    #    access/refresh pair of JWTs.
    registered, tokens = register_and_sign_in(platform, email)
    account_id = registered.body["id"]
    assert set(tokens.body) >= {"access", "refresh"}
    access = tokens.body["access"]

    # 3. voting_service's replica of the account appears with the initial grant of 100 points.
    #    (Signing in took part of the time waited: the servers' own clocks say how long the
    #    replication itself took.)
    wait_for_voter(
        platform,
        access,
        "the new voter in voting with 100 points",
        lambda me: me["id"] == account_id and me["points"] == 100 and me["can_vote"],
    )
    voter = platform.api("GET", "voting", "me/", token=access).body
    timings["registration"] = (
        datetime.fromisoformat(voter["replicated_at"])
        - datetime.fromisoformat(registered.body["date_joined"])
    ).total_seconds()

    # 4. polls_service accepts the token (it holds only the public key) and refuses no token.
    assert platform.api("GET", "polls", "causes/", token=access).status == 200
    assert platform.api("GET", "polls", "causes/").status == 401

    # 5. An operator is created the way an operator would: manage.py createoperator.
    operator_email = f"operator-{uuid.uuid4().hex[:8]}@example.com"
    created = platform.manage(
        "accounts", "createoperator", "--email", operator_email, "--password", PASSWORD
    )
    assert created.returncode == 0, created.stdout + created.stderr
    operator = sign_in(platform, operator_email)
    assert operator.status == 200, operator
    operator_access = operator.body["access"]

    # 6. The operator grants 25 points; voting's replica follows to 125.
    granted = platform.api(
        "POST",
        "accounts",
        f"accounts/{account_id}/points/",
        {"delta": 25, "reason": "test"},
        token=operator_access,
    )
    assert granted.status == 201, granted
    timings["points adjustment"] = wait_for_voter(
        platform,
        access,
        "125 points in voting",
        lambda me: me["points"] == 125,
        since=time.monotonic(),
    )

    # 7. The operator deactivates the account: no new token, and voting's replica (read with
    #    the access token issued before, still valid until it expires) can no longer vote.
    deactivated = platform.api(
        "PATCH", "accounts", f"accounts/{account_id}/", {"is_active": False}, token=operator_access
    )
    deactivated_at = time.monotonic()
    assert deactivated.status == 200, deactivated
    assert deactivated.body["is_active"] is False
    assert sign_in(platform, email).status == 401
    timings["deactivation"] = wait_for_voter(
        platform,
        access,
        "the voter inactive in voting",
        lambda me: me["is_active"] is False and me["can_vote"] is False,
        since=deactivated_at,
    )

    with capsys.disabled():
        print(
            "\nreplication to voting: "
            + ", ".join(f"{what} {seconds * 1000:.0f} ms" for what, seconds in timings.items())
        )


@pytest.mark.parametrize("service", ["accounts", "polls", "voting"])
def test_every_service_serves_its_schema_docs_and_admin(platform: Platform, service: str):
    for path in ("api/schema/", "api/docs/", "admin/login/"):
        response = http("GET", platform.url(service, path), accept="*/*")
        assert response.status == 200, (path, response)


def admin_message(html: str) -> str:
    """The admin's message list after an action or a save ("" when there is none)."""
    found = re.search(r'<ul class="messagelist">(.*?)</ul>', html, re.S)
    return re.sub(r"<[^>]+>", "", found[1]).strip() if found else ""


def test_account_changes_made_in_the_accounts_admin_reach_voting(platform: Platform, capsys):
    """An operator, signed in to the accounts admin over HTTP, changes a delegator the ways the
    admin offers: points through the ledger inline of the change form, deactivation through
    the changelist's action, reactivation through the change form's "active" box. Each reaches
    voting's replica (voting's me/, read with the delegator's token issued before)."""
    timings: dict[str, float] = {}
    email = f"delegator-{uuid.uuid4().hex[:8]}@example.com"
    registered, tokens = register_and_sign_in(platform, email)
    account_id = registered.body["id"]
    access = tokens.body["access"]
    wait_for_voter(
        platform,
        access,
        "the new voter in voting with 100 points",
        lambda me: me["id"] == account_id and me["points"] == 100 and me["can_vote"],
    )

    operator = create_operator(platform)  # manage.py createoperator, as an operator would
    change = f"accounts/account/{account_id}/change/"
    change_url = platform.url("accounts", f"admin/{change}")
    changelist_url = platform.url("accounts", "admin/accounts/account/")
    browser, html = admin_browser(platform, operator, "accounts", change)
    assert email in html, html[:2000]  # the delegator's change form, signed in

    def account() -> dict:
        answer = platform.api("GET", "accounts", f"accounts/{account_id}/", token=operator.token)
        assert answer.status == 200, answer
        return answer.body

    # 1. Points: a new row in the change form's ledger inline (+25, with a reason), saved.
    fields = form_fields(html, "account_form")
    row = fields["ledger-INITIAL_FORMS"]  # the first extra (empty) row of the inline
    assert f"ledger-{row}-delta" in fields, sorted(fields)
    fields.update(
        {f"ledger-{row}-delta": "25", f"ledger-{row}-reason": "admin test: bonus", "_save": "Save"}
    )
    landed, html = post_form(browser, change_url, fields)
    saved_at = time.monotonic()
    assert landed == changelist_url, (landed, admin_message(html) or html[:3000])
    assert "was changed successfully" in admin_message(html), admin_message(html)
    assert account()["points"] == 125  # accounts itself took it
    timings["points (ledger inline)"] = wait_for_voter(
        platform, access, "125 points in voting", lambda me: me["points"] == 125, since=saved_at
    )

    # 2. Deactivation: the changelist's "Deactivate the selected accounts" action.
    with browser.open(changelist_url, timeout=15) as page:
        html = page.read().decode()
    landed, html = post_form(
        browser,
        changelist_url,
        {
            "csrfmiddlewaretoken": csrf_token(html),
            "action": "deactivate",
            "index": "0",
            "select_across": "0",
            "_selected_action": [account_id],
        },
    )
    deactivated_at = time.monotonic()
    assert admin_message(html) == "Deactivated.", admin_message(html) or html[:3000]
    assert account()["is_active"] is False
    assert sign_in(platform, email).status == 401
    timings["deactivation (action)"] = wait_for_voter(
        platform,
        access,
        "the voter inactive in voting",
        lambda me: me["is_active"] is False and me["can_vote"] is False,
        since=deactivated_at,
    )

    # 3. Reactivation: the change form's "active" box ticked again, saved.
    with browser.open(change_url, timeout=15) as page:
        fields = form_fields(page.read().decode(), "account_form")
    assert "is_active" not in fields, "the form should show the account inactive"
    fields.update({"is_active": "on", "_save": "Save"})
    landed, html = post_form(browser, change_url, fields)
    activated_at = time.monotonic()
    assert landed == changelist_url, (landed, admin_message(html) or html[:3000])
    assert account()["is_active"] is True
    timings["reactivation (change form)"] = wait_for_voter(
        platform,
        access,
        "the voter active again in voting",
        lambda me: me["is_active"] is True and me["can_vote"] is True and me["points"] == 125,
        since=activated_at,
    )

    with capsys.disabled():
        print(
            "\nadmin changes reaching voting: "
            + ", ".join(f"{what} {seconds * 1000:.0f} ms" for what, seconds in timings.items())
        )
