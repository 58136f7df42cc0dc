"""Signing in once for the browsable API of every service, and throttled form sign-ins."""

import html
import re

import pytest
from django.core.cache import cache
from django.test import Client

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
COOKIE = "charity_vote_access"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()


def test_the_browsable_login_sets_the_shared_cookie_and_returns_to_the_page(
    client, delegator, settings
):
    settings.SERVICE_PUBLIC_URLS = {
        **settings.SERVICE_PUBLIC_URLS,
        "polls": "http://127.0.0.1:8002",
    }
    page = client.get("/accounts/api/auth/login/?next=http://127.0.0.1:8002/polls/api/polls/")
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content
    response = client.post(
        "/accounts/api/auth/login/",
        {
            "username": delegator.email,
            "password": PASSWORD,
            "next": "http://127.0.0.1:8002/polls/api/polls/",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "http://127.0.0.1:8002/polls/api/polls/"
    cookie = response.cookies[COOKIE]
    assert cookie["path"] == "/" and cookie["httponly"] and cookie["samesite"] == "Lax"
    # The cookie alone authenticates, here as everywhere.
    fresh = Client()
    fresh.cookies[COOKIE] = cookie.value
    assert fresh.get("/accounts/api/me/", HTTP_ACCEPT="application/json").json()["email"] == (
        delegator.email
    )


def test_a_foreign_next_url_is_ignored(client, delegator):
    response = client.post(
        "/accounts/api/auth/login/",
        {"username": delegator.email, "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/accounts/api/me/"


def test_unsafe_requests_with_the_cookie_need_the_csrf_token(delegator):
    browser = Client(enforce_csrf_checks=True)
    browser.get("/accounts/api/auth/login/")
    browser.post(
        "/accounts/api/auth/login/",
        {
            "username": delegator.email,
            "password": PASSWORD,
            "csrfmiddlewaretoken": browser.cookies["accounts_csrftoken"].value,
        },
    )
    session_less = Client(enforce_csrf_checks=True)
    session_less.cookies[COOKIE] = browser.cookies[COOKIE].value
    refused = session_less.patch(
        "/accounts/api/me/", {"stake_address": ""}, content_type="application/json"
    )
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]


def test_logout_forgets_the_cookie(client, delegator):
    client.post("/accounts/api/auth/login/", {"username": delegator.email, "password": PASSWORD})
    response = client.post("/accounts/api/auth/logout/")
    assert response.status_code == 302 and response.cookies[COOKIE].value == ""


def test_form_sign_ins_are_throttled_after_repeated_failures(client, delegator, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login_email": "2/min",
        },
    }
    for _ in range(2):
        client.post("/accounts/api/auth/login/", {"username": delegator.email, "password": "wrong"})
    blocked = client.post(
        "/accounts/api/auth/login/", {"username": delegator.email, "password": PASSWORD}
    )
    assert blocked.status_code == 200 and b"Too many failed sign-ins" in blocked.content
    admin = client.post(
        "/accounts/admin/login/", {"username": delegator.email, "password": PASSWORD}
    )
    assert b"Too many failed sign-ins" in admin.content


def test_the_admin_login_still_refuses_delegators(client, delegator):
    response = client.post(
        "/accounts/admin/login/", {"username": delegator.email, "password": PASSWORD}
    )
    assert response.status_code == 200 and b"staff account" in response.content


def _signed_in_browser(delegator) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.get("/accounts/api/auth/login/")
    browser.post(
        "/accounts/api/auth/login/",
        {
            "username": delegator.email,
            "password": PASSWORD,
            "csrfmiddlewaretoken": browser.cookies["accounts_csrftoken"].value,
        },
    )
    assert browser.session.get("_auth_user_id") == str(delegator.pk)
    return browser


def test_a_get_cannot_sign_anyone_out(delegator):
    browser = _signed_in_browser(delegator)
    response = browser.get("/accounts/api/auth/logout/")
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert COOKIE not in response.cookies
    assert browser.session.get("_auth_user_id") == str(delegator.pk)
    assert browser.get("/accounts/api/me/", HTTP_ACCEPT="application/json").status_code == 200


def test_logging_out_needs_the_csrf_token(delegator):
    browser = _signed_in_browser(delegator)
    refused = browser.post("/accounts/api/auth/logout/")
    assert refused.status_code == 403 and COOKIE not in refused.cookies
    assert browser.session.get("_auth_user_id") == str(delegator.pk)


def test_the_pages_log_out_form_posts_with_the_token_and_signs_out(delegator):
    browser = _signed_in_browser(delegator)
    page = browser.get("/accounts/api/me/", HTTP_ACCEPT="text/html").content.decode()
    form = re.search(
        r'<form id="logoutForm" method="post" action="([^"]+)">\s*'
        r'<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)">',
        page,
    )
    assert form, page
    action, token = html.unescape(form[1]), form[2]
    assert action == "/accounts/api/auth/logout/?next=/accounts/api/me/"
    response = browser.post(action, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/accounts/api/me/"
    assert response.cookies[COOKIE].value == ""
    assert "_auth_user_id" not in browser.session
