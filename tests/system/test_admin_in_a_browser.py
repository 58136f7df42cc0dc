"""A real browser (headless Chromium from Debian's packages, driven by Playwright): an operator
signs in once, sets up causes and a poll in the polls admin, and the poll shows up in
voting_service's admin; a delegator signs in to the browsable API and votes in it.

Screenshots are saved under artifacts/browser/ as the test's artifacts.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared_events.testing import wait_until
from tests.system.harness import ROOT, Platform

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")

PASSWORD = "a-long-enough-passphrase-42"
ARTIFACTS = ROOT / "artifacts" / "browser"
# What this closed network needs: no background connections Chromium would make on its own.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


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
    playwright_api.expect(page.locator("ul.messagelist")).to_contain_text(
        "was added successfully")


def test_an_operator_sets_up_a_poll_in_the_admin_and_voting_sees_it(platform: Platform, page):
    email = f"operator-{uuid.uuid4().hex[:8]}@example.com"
    assert platform.manage("accounts", "createoperator", "--email", email,
                           "--password", PASSWORD).returncode == 0

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


def test_a_delegator_signs_in_once_and_browses_every_service(platform: Platform, page):
    email = f"delegator-{uuid.uuid4().hex[:8]}@example.com"
    registered = platform.api("POST", "accounts", "register/",
                              {"email": email, "password": PASSWORD})
    assert registered.status == 201, registered

    # 1. The voting API's "Log in" goes to accounts and comes back signed in.
    page.goto(platform.url("voting", "api/me/"))
    page.click("text=Log in")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(platform.url("voting", "api/me/"))
    wait_until(lambda: (page.reload(), "100" in page.content())[1], timeout=30,
               message="voting's replica with the initial grant")
    shot(page, "voting-browsable-me")

    # 2. The same sign-in works in polls and accounts: no second login.
    page.goto(platform.url("polls", "api/polls/"))
    assert "Log out" in page.content() or email in page.content()
    page.goto(platform.url("accounts", "api/me/"))
    assert email in page.content()
    shot(page, "accounts-browsable-me")
