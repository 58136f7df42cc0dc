"""A delegator's whole path through voting's pages in a real browser (Debian's Chromium,
driven by Playwright) against the real processes: sign in, the open polls, a ballot cast with
the sliders, an overspent ballot refused next to the total, a revision, a retraction, the
receipt copied and downloaded, the history, a poll that closes while its page is open, and the
results with "check my receipt" recomputing the published digest in the browser.

Each page is captured at a phone's width (390 px) and a desktop's (1280 px) under
artifacts/pages/ (voting-*.png); the README shows copies kept in tests/system/screenshots/.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared_events.core.testing import wait_until
from tests.system import browser
from tests.system.actors import PASSWORD, Operator, create_operator
from tests.system.harness import ROOT, Platform

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
pytestmark = pytest.mark.skipif(
    browser.CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)"
)

ARTIFACTS = ROOT / "artifacts" / "pages"
COOKIE = "charity_vote_access"


@pytest.fixture
def browser_context():
    with browser.chromium() as chromium:
        context = chromium.new_context(
            viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        try:
            yield context
        finally:
            context.close()


def capture(page, name: str) -> None:
    """The page as it stands at both widths (tests/system/browser.py), as voting-<name>-*.png."""
    browser.capture(page, ARTIFACTS, f"voting-{name}")


def funding_round(
    platform: Platform, operator: Operator, *, minutes: float = 30
) -> tuple[str, list[str]]:
    """Three causes (title, description, link, image) and a poll offering them, scheduled to
    open in two seconds."""
    causes = []
    for title, blurb in [
        ("Clean water", "Wells and filters for villages."),
        ("School meals", "A hot lunch for every pupil."),
        ("Libraries", "Books for small towns."),
    ]:
        created = platform.api(
            "POST",
            "polls",
            "causes/",
            {
                "title": f"{title} {uuid.uuid4().hex[:4]}",
                "description": blurb,
                "url": "https://example.org/" + title.lower().replace(" ", "-"),
                # Served by voting itself: the test network reaches nothing outside.
                "image_url": platform.url("voting", "static/admin/img/icon-addlink.svg"),
            },
            token=operator.token,
        )
        assert created.status == 201, created
        causes.append(created.body["id"])
    opens_at = datetime.now(UTC) + timedelta(seconds=2)
    poll = platform.api(
        "POST",
        "polls",
        "polls/",
        {
            "title": f"Winter round {uuid.uuid4().hex[:4]}",
            "description": "Spread your power over this winter's causes.",
            "fund_lovelace": 3_000_000_000,
            "opens_at": opens_at.isoformat(),
            "closes_at": (opens_at + timedelta(minutes=minutes)).isoformat(),
            "causes": causes,
            "results_visibility": "after_close",
        },
        token=operator.token,
    )
    assert poll.status == 201, poll
    scheduled = platform.api(
        "POST", "polls", f"polls/{poll.body['id']}/schedule/", token=operator.token
    )
    assert scheduled.status == 200, scheduled
    return poll.body["id"], causes


def sign_in(platform: Platform, page, email: str) -> None:
    """Through accounts' sign-in page (email and password), where a voting page sends nobody
    signed in, and back to the page asked for."""
    page.goto(platform.url("voting", "history/"))
    assert page.url.startswith(platform.url("accounts", "signin/?next=")), page.url
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(platform.url("voting", "history/"))
    expect(page.get_by_role("heading", name="My history")).to_be_visible()


def slide(page, index: int, points: int) -> None:
    """Move a cause's slider with the keyboard to `points` (Home, then one step at a time)."""
    slider = page.locator(f"#range-{index}")
    slider.focus()
    page.keyboard.press("Home")
    for _ in range(points):
        page.keyboard.press("ArrowRight")
    expect(page.locator(f"#points-{index}")).to_have_value(str(points))


def receipt_shown(page) -> str:
    expect(page.locator("#receipt")).to_be_visible()
    return page.locator("#receipt-value").inner_text().strip()


def test_a_delegator_votes_revises_retracts_and_checks_the_receipt(
    platform: Platform, browser_context
):
    operator = create_operator(platform)
    poll_id, causes = funding_round(platform, operator)
    email = f"delegator-{uuid.uuid4().hex[:8]}@example.com"
    registered = platform.api(
        "POST", "accounts", "register/", {"email": email, "password": PASSWORD}
    )
    assert registered.status == 201, registered
    page = browser_context.new_page()
    page.set_default_timeout(15_000)
    browser_context.grant_permissions(
        ["clipboard-read", "clipboard-write"],
        origin=platform.url("voting").rstrip("/").rsplit("/voting", 1)[0],
    )

    # 1. Signed in at accounts (a voting page sends me there and I come back to it), the open
    #    polls: the round with its causes and my power (my 100 points).
    sign_in(platform, page, email)

    def poll_listed_with_my_power() -> bool:
        page.goto(platform.url("voting"))
        return page.locator(f"a[href='/voting/polls/{poll_id}/']").count() > 0 and (
            page.locator(".power").count() > 0
        )

    wait_until(
        poll_listed_with_my_power, timeout=40, interval=0.5, message="the open poll with my power"
    )
    card = page.locator(".poll-card", has=page.locator(f"a[href='/voting/polls/{poll_id}/']"))
    expect(card.locator(".power")).to_have_text("100 points")
    expect(card.locator(".cause")).to_have_count(3)
    expect(card).to_contain_text("Wells and filters for villages.")
    expect(card.locator(".cause img").first).to_have_attribute(
        "src", platform.url("voting", "static/admin/img/icon-addlink.svg")
    )
    expect(card).to_contain_text("left")
    capture(page, "open-polls")

    # 2. The ballot: the sliders move the number fields and the remaining power.
    card.get_by_role("link", name="Vote").click()
    page.wait_for_url(platform.url("voting", f"polls/{poll_id}/"))
    expect(page.locator("#remaining")).to_have_text("Remaining: 100 of 100 points")
    slide(page, 0, 60)
    expect(page.locator("#remaining")).to_have_text("Remaining: 40 of 100 points")

    # 3. Overspent: 60 + 70 is refused by the API, the message beside the total, nothing lost.
    page.locator("#points-1").fill("70")
    expect(page.locator("#range-1")).to_have_value("70")
    expect(page.locator("#remaining")).to_have_text("Over by 30 points: lower some causes")
    page.get_by_role("button", name="Cast my ballot").click()
    expect(page.locator("#error-allocations")).to_have_text(
        "These allocations total 130 points; you have 100."
    )
    expect(page.locator("#points-0")).to_have_value("60")
    expect(page.locator("#points-1")).to_have_value("70")
    capture(page, "ballot-overspent")

    # 3b. A refusal of one allocation goes beside that cause's field.
    page.locator("#points-1").fill("40")
    page.locator("#points-2").fill("-5")
    page.get_by_role("button", name="Cast my ballot").click()
    expect(page.locator("#error-allocations-2-points")).to_be_visible()
    expect(page.locator("#points-2")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#error-allocations")).to_have_count(0)

    # 4. Cast within my power: the receipt, copied and downloaded.
    page.locator("#points-2").fill("0")
    page.get_by_role("button", name="Cast my ballot").click()
    first = receipt_shown(page)
    expect(page.get_by_role("button", name="Save my revised ballot")).to_be_visible()
    expect(page.locator("#error-allocations")).to_be_hidden()
    page.get_by_role("button", name="Copy the receipt").click()
    expect(page.locator("#receipt-copied")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == first
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download the receipt").click()
    record = json.loads(Path(downloading.value.path()).read_text())
    assert (record["receipt"], record["number"], record["kind"]) == (first, 1, "cast")
    assert sorted((a["cause"], a["points"]) for a in record["allocations"]) == sorted(
        [(causes[0], 60), (causes[1], 40), (causes[2], 0)]
    )
    assert recompute(poll_id, record) == first  # the download holds all a receipt is made of
    capture(page, "ballot-receipt")

    # 5. Revise (the page comes back with my ballot), then retract, then cast again.
    page.reload()
    expect(page.locator("#points-0")).to_have_value("60")
    slide(page, 2, 30)
    page.locator("#points-0").fill("30")
    page.get_by_role("button", name="Save my revised ballot").click()
    expect(page.locator("#receipt-value")).not_to_have_text(first)
    second = receipt_shown(page)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Retract my ballot").click()
    expect(page.locator("#receipt-status")).to_contain_text("retracted")
    expect(page.locator("#receipt-value")).not_to_have_text(second)
    retraction = receipt_shown(page)
    page.get_by_role("button", name="Save my revised ballot").click()
    expect(page.locator("#receipt-value")).not_to_have_text(retraction)
    recast = receipt_shown(page)

    # 6. The session expires while the page is open: a plain message, what was typed kept;
    #    signed in again in another tab, the same page sends it.
    page.locator("#points-2").fill("25")
    browser_context.clear_cookies(name=COOKIE)
    page.get_by_role("button", name="Save my revised ballot").click()
    expect(page.locator("#page-message")).to_contain_text("Your session expired")
    expect(page.locator("#points-2")).to_have_value("25")
    capture(page, "ballot-session-expired")
    with browser_context.expect_page() as opened:
        page.locator("#page-message").get_by_role("link", name="Sign in again").click()
    tab = opened.value
    tab.get_by_label("Email", exact=True).fill(email)
    tab.get_by_label("Password", exact=True).fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(platform.url("voting", f"polls/{poll_id}/"))
    tab.close()
    # ... and voting's web is briefly away: a plain message, nothing typed lost; once it is
    # back, the same page sends the ballot.
    platform.stop("voting-web")
    try:
        page.get_by_role("button", name="Save my revised ballot").click()
        expect(page.locator("#page-message")).to_contain_text("briefly unavailable")
        expect(page.locator("#points-2")).to_have_value("25")
    finally:
        platform.spawn("voting-web")
        platform.wait_ready(["voting"])
    page.get_by_role("button", name="Save my revised ballot").click()
    expect(page.locator("#receipt-value")).not_to_have_text(recast)
    final = receipt_shown(page)
    expect(page.locator("#page-message")).to_be_empty()

    # 7. My history: every revision with its receipt and status, and the points ledger link.
    page.get_by_role("link", name="My history").click()
    page.wait_for_url(platform.url("voting", "history/"))
    rows = page.locator(".revision")
    expect(rows).to_have_count(5)
    statuses = {
        rows.nth(i).locator("code").inner_text(): rows.nth(i).locator(".status").inner_text()
        for i in range(5)
    }
    assert statuses == {
        final: "pending",
        recast: "superseded",
        retraction: "superseded",
        second: "superseded",
        first: "superseded",
    }, statuses
    expect(page.get_by_role("link", name="My points ledger")).to_have_attribute(
        "href", platform.url("accounts", "me/")
    )
    capture(page, "history")

    # 8. The poll closes while its page is open: the refusal shown, the typed points kept.
    page.goto(platform.url("voting", f"polls/{poll_id}/"))
    page.locator("#points-0").fill("25")
    closing = platform.api("POST", "polls", f"polls/{poll_id}/close/", token=operator.token)
    assert closing.status == 200, closing
    wait_until(
        lambda: (
            platform.api("GET", "voting", f"polls/{poll_id}/tally/", token=operator.token).body.get(
                "final"
            )
            is True
        ),
        timeout=40,
        interval=0.5,
        message="voting's final tally",
    )
    page.get_by_role("button", name="Save my revised ballot").click()
    expect(page.locator("#ballot .form-errors")).to_have_text("This poll is closed.")
    expect(page.locator("#points-0")).to_have_value("25")
    capture(page, "ballot-poll-closed")

    # 9. The results: charts, the table, the digest, and my receipt checked in the browser.
    page.goto(platform.url("voting", "results/"))
    capture(page, "past-rounds")
    page.locator(f"a[href='/voting/polls/{poll_id}/results/']").click()
    table = page.locator("#results-table tbody tr")
    expect(table).to_have_count(3)
    expect(table.nth(0)).to_contain_text("30")
    expect(page.locator(".charts svg")).to_have_count(2)
    expect(page.locator("#check-receipt")).to_have_value(final)
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#check-found")).to_have_text(
        "Found: your receipt is number 1 of the 1 counted receipts."
    )
    digest = page.locator("#receipts-digest").inner_text().strip()
    expect(page.locator("#check-digest")).to_have_text(
        f"The list hashes to {digest}, the published digest: it is the list that was counted."
    )
    assert (
        digest
        == hashlib.sha256(f"charity-vote-receipts/1 poll={poll_id}\n{final}\n".encode()).hexdigest()
    )
    capture(page, "results")
    page.locator("#check-receipt").fill(first)
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#check-found")).to_contain_text("Not found")


def recompute(poll_id: str, revision: dict) -> str:
    """A receipt from a downloaded record and the documented format (voting/receipts.py)."""
    at = datetime.fromisoformat(revision["created_at"]).astimezone(UTC)
    allocations = ",".join(
        f"{a['cause']}={a['points']}"
        for a in sorted(revision["allocations"], key=lambda a: a["cause"])
    )
    text = (
        f"charity-vote-receipt/1 poll={poll_id}\n"
        f"previous={revision['previous_receipt'] or 'none'}\n"
        f"revision={revision['number']} kind={revision['kind']} at={at:%Y-%m-%dT%H:%M:%S.%f}Z\n"
        f"allocations={allocations}\n"
        f"nonce={revision['nonce']}\n"
    )
    return hashlib.sha256(text.encode()).hexdigest()
