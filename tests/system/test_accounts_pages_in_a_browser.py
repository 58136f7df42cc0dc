"""accounts' pages in a real browser (Debian's Chromium driven by Playwright) against the real
platform's processes, each service on its own port as under `manage_all.py up`: signing in
with an email and with a CIP-30 wallet (injected into the page; its signData signs in the test
with a real stake key), a first-time wallet user, linking a stake address from my account, a
wrong password and an expired session shown on the page, nothing typed lost.

Every page is captured at a phone's width and a desktop's under artifacts/pages/ (the copies
the README shows are under tests/system/screenshots/).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from tests.system.browser import CHROMIUM, StakeKeyWallet, capture, chromium, inject_wallet
from tests.system.harness import ROOT, Platform, http

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)"
)

PASSWORD = "a-long-enough-passphrase-42"
SHOTS = ROOT / "artifacts" / "pages"
VIEWER_ZONE = "Asia/Tokyo"  # not the servers' UTC: times must be shown in the viewer's zone


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


@pytest.fixture
def context(browser):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id=VIEWER_ZONE
    )
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def test_every_service_serves_the_pages_look(platform: Platform):
    for service in ("accounts", "polls", "voting"):
        for asset in ("kit/page.css", "kit/page.js"):
            answer = http("GET", platform.url(service, f"static/{asset}"), accept="*/*")
            assert answer.status == 200 and len(answer.body) > 1000, (service, asset, answer)


def register(platform: Platform) -> str:
    email = f"delegator-{uuid.uuid4().hex[:8]}@example.com"
    made = platform.api("POST", "accounts", "register/", {"email": email, "password": PASSWORD})
    assert made.status == 201, made
    return email


def token_for(platform: Platform, email: str, password: str = PASSWORD) -> str:
    tokens = platform.api("POST", "accounts", "token/", {"email": email, "password": password})
    assert tokens.status == 200, tokens
    return tokens.body["access"]


def signin_to_me(platform: Platform) -> str:
    return (
        platform.url("accounts", "signin/")
        + "?"
        + urlencode({"next": platform.url("accounts", "me/")})
    )


def sign_in_with_email(page, platform: Platform, email: str) -> None:
    page.goto(signin_to_me(platform))
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(platform.url("accounts", "me/"))


def test_email_sign_in_a_wrong_password_and_my_account(platform: Platform, context):
    email = register(platform)
    page = context.new_page()

    # 1. The header's "Sign in" leads to accounts' page; the skip link comes first.
    page.goto(platform.url("accounts", "me/"))
    assert page.url == signin_to_me(platform)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    expect(page.get_by_role("heading", name="With a Cardano wallet")).to_be_visible()
    expect(page.locator("#wallet-list")).to_contain_text("No Cardano wallet was found")
    capture(page, SHOTS, "signin")

    # 2. A wrong password: said on the page, the email still typed in.
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#email-signin .form-errors")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Email", exact=True)).to_have_value(email)
    capture(page, SHOTS, "signin-wrong-password")

    # 3. accounts is briefly away: said so, and both fields stay as typed.
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    platform.stop("accounts-web")
    try:
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.locator("#page-message")).to_contain_text("briefly unavailable")
        expect(page.get_by_label("Email", exact=True)).to_have_value(email)
        expect(page.get_by_label("Password", exact=True)).to_have_value(PASSWORD)
        capture(page, SHOTS, "signin-unavailable")
    finally:
        platform.spawn("accounts-web")
        platform.wait_ready(["accounts"])

    # 4. Again, by keyboard alone: back to where the sign-in was asked for.
    page.get_by_label("Password", exact=True).press("Enter")
    page.wait_for_url(platform.url("accounts", "me/"))
    expect(page.locator("#me-email")).to_have_text(email)
    expect(page.locator("#me-points")).to_have_text("100")
    expect(page.locator("#ledger")).to_contain_text("Initial grant")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # 5. Times in the viewer's zone, not the servers' UTC.
    joined = page.locator("#ledger time").first
    instant = datetime.fromisoformat(joined.get_attribute("datetime"))
    local = instant.astimezone(ZoneInfo(VIEWER_ZONE))
    shown = joined.inner_text()
    assert f"{local.hour % 12 or 12}:{local.minute:02d}" in shown, (shown, local)
    capture(page, SHOTS, "me")

    # 6. A new email; a wrong current password refused next to its field; a new password.
    new_email = f"renamed-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("New email").fill(new_email)
    page.get_by_role("button", name="Save my email").click()
    expect(page.locator("#me-email")).to_have_text(new_email)
    page.get_by_label("Current password").fill("wrong")
    page.get_by_label("New password", exact=True).fill("another-long-passphrase-7")
    page.get_by_label("New password, again").fill("another-long-passphrase-7")
    page.get_by_role("button", name="Save my password").click()
    expect(page.locator("#password-form .field-error")).to_have_text("Wrong password.")
    expect(page.get_by_label("Current password")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("New password", exact=True)).to_have_value("another-long-passphrase-7")
    capture(page, SHOTS, "me-refused")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Save my password").click()
    expect(page.locator("#page-message")).to_contain_text("Your password is saved.")
    assert token_for(platform, new_email, "another-long-passphrase-7")

    # 7. Sign out: the cookie is gone, my account asks for a sign-in again.
    page.get_by_role("button", name="Sign out").click()
    page.goto(platform.url("accounts", "me/"))
    assert page.url == signin_to_me(platform)
    expect(page.locator("#session-expired")).to_have_count(0)


def test_a_first_time_wallet_user_signs_in_and_again(platform: Platform, context):
    wallet = StakeKeyWallet(name="Test wallet")
    inject_wallet(context, wallet)
    page = context.new_page()

    # 1. The page lists the wallet the browser injected; its signData signs in the test.
    page.goto(signin_to_me(platform))
    connect = page.get_by_role("button", name="Connect Test wallet")
    expect(connect).to_be_visible()
    capture(page, SHOTS, "signin-wallet")
    connect.click()
    page.wait_for_url(platform.url("accounts", "me/"))
    assert len(wallet.signed) == 1 and wallet.stake_address in wallet.signed[0]

    # 2. A new account: the proven address, no email, no password yet, the welcome points.
    expect(page.locator("#me-stake-address")).to_have_text(wallet.stake_address)
    expect(page.locator("#me-email")).to_have_text("none yet")
    expect(page.locator("#me-points")).to_have_text("100")
    expect(page.get_by_role("heading", name="Set a password")).to_be_visible()
    expect(page.get_by_label("Current password")).to_be_hidden()
    capture(page, SHOTS, "me-wallet-account")

    # 3. An email and a first password, without a current one.
    email = f"wallet-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("New email").fill(email)
    page.get_by_role("button", name="Save my email").click()
    expect(page.locator("#me-email")).to_have_text(email)
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password, again").fill(PASSWORD)
    page.get_by_role("button", name="Save my password").click()
    expect(page.locator("#page-message")).to_contain_text("Your password is saved.")
    expect(page.get_by_label("Current password")).to_be_visible()
    me = platform.api("GET", "accounts", "me/", token=token_for(platform, email))
    assert me.body["stake_address"] == wallet.stake_address, me

    # 4. Signed out and in again with the wallet: the same account, not a second one.
    page.get_by_role("button", name="Sign out").click()
    page.goto(signin_to_me(platform))
    page.get_by_role("button", name="Connect Test wallet").click()
    page.wait_for_url(platform.url("accounts", "me/"))
    expect(page.locator("#me-email")).to_have_text(email)
    assert len(wallet.signed) == 2


def test_a_wallet_that_declines_to_sign_is_said_so(platform: Platform, context):
    wallet = StakeKeyWallet(name="Shy wallet", refuse=True)
    inject_wallet(context, wallet, key="shy")
    page = context.new_page()
    page.goto(signin_to_me(platform))
    page.get_by_label("Email", exact=True).fill("typed-before@example.com")
    page.get_by_role("button", name="Connect Shy wallet").click()
    expect(page.locator("#wallet-status")).to_have_text(
        "The wallet did not sign: user declined to sign"
    )
    assert page.url == signin_to_me(platform)
    expect(page.get_by_label("Email", exact=True)).to_have_value("typed-before@example.com")


def test_linking_my_stake_address_from_my_account(platform: Platform, context):
    email = register(platform)
    wallet = StakeKeyWallet(name="Test wallet")
    inject_wallet(context, wallet)
    page = context.new_page()
    sign_in_with_email(page, platform, email)
    expect(page.locator("#me-stake-address")).to_have_text("none linked")

    page.get_by_role("button", name="Link with Test wallet").click()
    expect(page.locator("#me-stake-address")).to_have_text(wallet.stake_address)
    expect(page.locator("#page-message")).to_contain_text("Your stake address is linked")
    assert len(wallet.signed) == 1 and email in wallet.signed[0]
    capture(page, SHOTS, "me-linked")
    me = platform.api("GET", "accounts", "me/", token=token_for(platform, email))
    assert me.body["stake_address"] == wallet.stake_address, me
    assert me.body["stake_address_verified_at"], me


def test_an_expired_session_is_said_so_and_nothing_typed_is_lost(platform: Platform, context):
    email = register(platform)
    page = context.new_page()
    sign_in_with_email(page, platform, email)

    # 1. The sign-in cookie stops verifying while my account is open (as at its expiry).
    (cookie,) = [c for c in context.cookies() if c["name"] == "charity_vote_access"]
    stale = cookie["value"][:-4] + ("AAAA" if not cookie["value"].endswith("AAAA") else "BBBB")
    context.add_cookies([{**cookie, "value": stale}])

    # 2. Saving says the session expired, offers a sign-in in another tab, keeps the input.
    typed = f"kept-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("New email").fill(typed)
    page.get_by_role("button", name="Save my email").click()
    expect(page.locator("#page-message")).to_contain_text("Your session expired")
    expect(page.get_by_role("link", name="Sign in again")).to_have_attribute("target", "_blank")
    expect(page.get_by_label("New email")).to_have_value(typed)
    expect(page.locator("#me-email")).to_have_text(email)
    capture(page, SHOTS, "me-session-expired")

    # 3. Opening a page that needs the sign-in: the sign-in page says why.
    page.goto(platform.url("accounts", "me/"))
    assert page.url == signin_to_me(platform)
    expect(page.locator("#session-expired")).to_contain_text("Your session expired")
    capture(page, SHOTS, "signin-session-expired")
