"""My account's page: only with a sign-in cookie that verifies; email, points, the ledger and
the stake address; and the API it calls from the page accepts the cookie with the CSRF token."""

import pytest
from django.conf import settings
from django.test import Client

from accounts.services import account_set_active, browser_sign_in, points_adjust
from accounts.tests.cip30_wallet import Wallet

pytestmark = pytest.mark.django_db
PAGE = "/accounts/me/"


@pytest.fixture(autouse=True)
def _one_host(settings):
    settings.SERVICE_PUBLIC_URLS = {"accounts": "", "polls": "", "voting": ""}


def signed_in(account, client=None) -> Client:
    client = client or Client()
    token, _ = browser_sign_in(account=account)
    client.cookies[settings.BROWSER_TOKEN_COOKIE] = token
    return client


def test_without_a_sign_in_it_sends_me_to_sign_in_and_back(client):
    answer = client.get(PAGE)
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/signin/?next=%2Faccounts%2Fme%2F"


def test_with_an_expired_cookie_too(delegator, settings):
    settings.JWT_BROWSER_TTL_SECONDS = -60
    answer = signed_in(delegator).get(PAGE)
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/signin/")


def test_a_deactivated_account_is_signed_out_at_once(delegator):
    client = signed_in(delegator)
    account_set_active(account=delegator, is_active=False)
    assert client.get(PAGE).status_code == 302


def test_it_shows_my_email_points_and_ledger(delegator, operator):
    points_adjust(account=delegator, delta=7, reason="community call", by=operator)
    page = signed_in(delegator).get(PAGE)
    html = page.content.decode()
    assert page.status_code == 200
    assert '<dd id="me-email">dee@example.org</dd>' in html
    assert '<dd id="me-points">107</dd>' in html
    assert "community call" in html and "+7" in html and "Welcome grant" not in html
    assert "Initial grant" in html and "2 entries, newest first" in html
    # Times as UTC text, with the machine-readable instant the page turns into local time.
    assert '<time datetime="' in html
    assert "Change my password" in html and 'id="current_password"' in html
    assert 'data-verify-url="/accounts/api/me/stake-address/verify/"' in html


def test_a_wallet_made_account_is_offered_a_first_password(db, client):
    from django.utils import timezone

    from accounts.services import account_register_with_wallet

    wallet = Wallet()
    account = account_register_with_wallet(
        stake_address=wallet.stake_address, verified_at=timezone.now()
    )
    html = signed_in(account).get(PAGE).content.decode()
    assert "Set a password" in html and 'id="no-password-yet"' in html
    assert f"<code>{wallet.stake_address}</code>" in html
    assert '<span class="muted">none yet</span>' in html  # no email


def test_the_ledger_is_paged(delegator, operator):
    for n in range(30):
        points_adjust(account=delegator, delta=1, reason=f"entry {n}", by=operator)
    client = signed_in(delegator)
    first = client.get(PAGE).content.decode()
    assert "entry 29" in first and "entry 4" not in first and "Page 1 of 2" in first
    second = client.get(PAGE + "?page=2").content.decode()
    assert "entry 4" in second and "Initial grant" in second
    assert client.get(PAGE + "?page=nonsense").status_code == 200


def test_the_api_the_page_calls_takes_the_cookie_with_the_csrf_token(delegator):
    client = signed_in(delegator, Client(enforce_csrf_checks=True))
    page = client.get(PAGE)
    token = str(page.context["csrf_token"])
    without = client.patch("/accounts/api/me/", {"email": "x@example.org"}, "application/json")
    assert without.status_code == 403 and "CSRF" in without.json()["detail"]
    changed = client.patch(
        "/accounts/api/me/",
        {"email": "New@example.org"},
        "application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert changed.status_code == 200 and changed.json()["email"] == "new@example.org"
