"""The browsable API here accepts the sign-in cookie accounts sets, with CSRF for writes."""

import html
import re
import uuid

import pytest
from django.test import Client

from shared_events.kit.testing import make_token

pytestmark = pytest.mark.django_db
COOKIE = "charity_vote_access"


def test_the_log_in_link_leads_to_accounts_and_back(settings):
    settings.SERVICE_PUBLIC_URLS = {
        "accounts": "http://127.0.0.1:8001",
        "polls": "http://127.0.0.1:8002",
        "voting": "http://127.0.0.1:8003",
    }
    response = Client().get("/voting/api/auth/login/?next=/voting/api/me/ballots/")
    assert response.status_code == 302
    assert response["Location"] == (
        "http://127.0.0.1:8001/accounts/api/auth/login/"
        "?next=http%3A%2F%2F127.0.0.1%3A8003%2Fvoting%2Fapi%2Fme%2Fballots%2F"
    )


def test_the_cookie_authenticates_reads_and_writes_need_the_csrf_token():
    browser = Client(enforce_csrf_checks=True)
    browser.cookies[COOKIE] = make_token(uuid.uuid4())
    page = browser.get("/voting/api/me/ballots/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and b"Log out" in page.content
    write = browser.delete(f"/voting/api/polls/{uuid.uuid4()}/ballot/")
    assert write.status_code == 403 and b"CSRF" in write.content


def test_an_expired_cookie_is_anonymous_not_an_error():
    browser = Client()
    browser.cookies[COOKIE] = make_token(uuid.uuid4(), ttl=-60)
    page = browser.get("/voting/api/me/ballots/", HTTP_ACCEPT="text/html")
    assert page.status_code == 401 and b"Log in" in page.content


def test_log_out_here_forgets_the_cookie():
    browser = Client()
    browser.cookies[COOKIE] = make_token(uuid.uuid4())
    response = browser.post("/voting/api/auth/logout/")
    assert response.status_code == 302 and response.cookies[COOKIE].value == ""


def test_log_out_here_is_a_post_with_the_csrf_token():
    browser = Client(enforce_csrf_checks=True)
    browser.cookies[COOKIE] = make_token(uuid.uuid4())
    by_link = browser.get("/voting/api/auth/logout/")
    assert by_link.status_code == 405 and COOKIE not in by_link.cookies
    page = browser.get("/voting/api/me/ballots/", HTTP_ACCEPT="text/html").content.decode()
    form = re.search(
        r'<form id="logoutForm" method="post" action="([^"]+)">\s*'
        r'<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)">',
        page,
    )
    assert form, page
    action, token = html.unescape(form[1]), form[2]
    assert action.startswith("/voting/api/auth/logout/")
    forged = browser.post(action)
    assert forged.status_code == 403 and COOKIE not in forged.cookies
    response = browser.post(action, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response.cookies[COOKIE].value == ""
