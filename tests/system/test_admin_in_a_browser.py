"""A real browser (headless Chromium from Debian's packages, driven by Playwright): an operator
signs in once, sets up causes and a poll in the polls admin, and the poll shows up in
voting_service's admin; a delegator signs in to the browsable API once, browses all three
services and casts a ballot with the browsable API's raw-data form.

Screenshots are saved under artifacts/browser/ as the test's artifacts.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared_events.core.testing import wait_until
from tests.system.actors import create_operator, open_round
from tests.system.harness import ROOT, Platform

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)"
)

PASSWORD = "a-long-enough-passphrase-42"
ARTIFACTS = ROOT / "artifacts" / "browser"
# What this closed network needs: no background connections Chromium would make on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture
def page():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        try:
            yield tab
        finally:
            context.close()
            browser.close()


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def added(page) -> None:
    """The admin's success message, waited for: a click returns once the next page's navigation
    has begun, so its body may not be parsed yet (page.content() then shows an empty <body>)."""
    playwright_api.expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")


def test_an_operator_sets_up_a_poll_in_the_admin_and_voting_sees_it(platform: Platform, page):
    email = f"operator-{uuid.uuid4().hex[:8]}@example.com"
    assert (
        platform.manage(
            "accounts", "createoperator", "--email", email, "--password", PASSWORD
        ).returncode
        == 0
    )

    # 1. The polls admin sends the operator to accounts to sign in, and back.
    page.goto(platform.url("polls", "admin/"))
    assert page.url.startswith(platform.url("accounts", "admin/login/"))
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(platform.url("polls", "admin/"))

    # 2. Two causes, through the admin's forms.
    titles = [f"Wells {uuid.uuid4().hex[:4]}", f"Meals {uuid.uuid4().hex[:4]}"]
    for title in titles:
        page.goto(platform.url("polls", "admin/polls/cause/add/"))
        page.fill("#id_title", title)
        page.fill("#id_description", "Added in a real browser")
        page.click("input[name=_save]")
        added(page)

    # 3. A poll offering both causes.
    poll_title = f"Browser round {uuid.uuid4().hex[:6]}"
    opens = datetime.now(UTC) + timedelta(hours=1)
    closes = opens + timedelta(days=2)
    page.goto(platform.url("polls", "admin/polls/poll/add/"))
    page.fill("#id_title", poll_title)
    page.fill("#id_description", "Set up in Chromium")
    page.fill("#id_fund_lovelace", "5000000000")
    page.fill("#id_opens_at_0", opens.strftime("%Y-%m-%d"))
    page.fill("#id_opens_at_1", opens.strftime("%H:%M:%S"))
    page.fill("#id_closes_at_0", closes.strftime("%Y-%m-%d"))
    page.fill("#id_closes_at_1", closes.strftime("%H:%M:%S"))
    selects = page.locator("select[name$='-cause']")
    for row, title in enumerate(titles):
        selects.nth(row).select_option(label=title)
    shot(page, "polls-admin-new-poll")
    page.click("input[name=_save]")
    added(page)
    shot(page, "polls-admin-poll-list")

    # 4. The poll reaches voting_service; its admin needs no second password.
    def replica_listed() -> bool:
        page.goto(platform.url("voting", "admin/voting/pollreplica/"))
        return poll_title in page.content()

    wait_until(replica_listed, timeout=30, interval=0.5, message="the poll in voting's admin")
    assert page.url.startswith(platform.url("voting", "admin/"))
    shot(page, "voting-admin-poll-replica")


def shown_answer(page) -> tuple[str, Any]:
    """The answer the browsable API page shows: its status line ("HTTP 200 OK") and its JSON
    body (the part after the headers)."""
    text = page.locator(".response-info pre").inner_text()
    head, _, body = text.partition("\n\n")
    return head.splitlines()[0].strip(), json.loads(body) if body.strip() else None


def signed_in_as(page) -> str:
    """Who the browsable API's navigation bar says is signed in."""
    return page.locator(".navbar .dropdown-toggle").first.inner_text().strip()


def test_a_delegator_signs_in_once_and_browses_every_service(platform: Platform, page):
    operator = create_operator(platform)
    round_ = open_round(platform, operator, n_causes=2)  # returns once voting sees it open
    email = f"delegator-{uuid.uuid4().hex[:8]}@example.com"
    registered = platform.api(
        "POST", "accounts", "register/", {"email": email, "password": PASSWORD}
    )
    assert registered.status == 201, registered
    account_id = registered.body["id"]

    # 1. The voting API's "Log in" goes to accounts and comes back signed in.
    page.goto(platform.url("voting", "api/me/"))
    page.click("text=Log in")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(platform.url("voting", "api/me/"))
    shown: list[tuple[str, Any]] = []

    def me_with_the_initial_grant() -> bool:
        page.reload()
        shown[:] = [shown_answer(page)]
        status, body = shown[0]
        return status == "HTTP 200 OK" and body["id"] == account_id and body["points"] == 100

    try:
        wait_until(
            me_with_the_initial_grant, timeout=30, message="voting's replica with the initial grant"
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the page last showed {shown}") from None
    assert shown[0][1]["can_vote"] is True
    assert signed_in_as(page) == f"delegator {account_id}"
    shot(page, "voting-browsable-me")

    # 2. The same sign-in works in polls and accounts: no second login. (polls and voting know
    #    the caller by the token's role and id; only accounts knows the email.)
    page.goto(platform.url("polls", "api/polls/"))
    status, polls = shown_answer(page)
    assert status == "HTTP 200 OK", (status, polls)
    assert signed_in_as(page) == f"delegator {account_id}"
    listed = polls["results"] if isinstance(polls, dict) else polls
    assert round_.poll_id in {p["id"] for p in listed}, polls
    page.goto(platform.url("accounts", "api/me/"))
    status, me = shown_answer(page)
    assert status == "HTTP 200 OK", (status, me)
    assert (me["id"], me["email"]) == (account_id, email), me
    shot(page, "accounts-browsable-me")

    # 3. They vote in the browsable API: the raw-data form's textarea and its PUT button.
    ballot_path = f"polls/{round_.poll_id}/ballot/"
    page.goto(platform.url("voting", f"api/{ballot_path}"))
    assert shown_answer(page)[0] == "HTTP 404 Not Found"  # no ballot yet
    allocations = [
        {"cause": round_.causes[0], "points": 60},
        {"cause": round_.causes[1], "points": 40},
    ]
    form = page.locator("#put-generic-content-form")
    form.locator("textarea[name=_content]").fill(json.dumps({"allocations": allocations}, indent=2))
    form.locator("button", has_text="PUT").click()
    # The form's script replaces the page with the answer once it arrives: wait for it.
    playwright_api.expect(page.locator(".response-info")).to_contain_text("201 Created")
    status, cast = shown_answer(page)
    assert status == "HTTP 201 Created", (status, cast)
    assert cast["allocations"] == allocations and cast["total_points"] == 100, cast
    shot(page, "voting-browsable-ballot")

    # 4. The ballot is there, as the API (with a token of the delegator's own) tells.
    tokens = platform.api("POST", "accounts", "token/", {"email": email, "password": PASSWORD})
    assert tokens.status == 200, tokens
    ballot = platform.api("GET", "voting", ballot_path, token=tokens.body["access"])
    assert ballot.status == 200, ballot
    assert sorted((a["cause"], a["points"]) for a in ballot.body["allocations"]) == sorted(
        (a["cause"], a["points"]) for a in allocations
    ), ballot
    assert (ballot.body["revisions"], ballot.body["retracted"]) == (1, False), ballot
