"""The pages' links between services: paths behind one host, full URLs when each service has its
own (manage_all.py up); and the sign-in state read from the browser's cookie."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import RequestFactory

from shared_events.kit import pages

from .test_identity import claims, sign, trusted_key  # noqa: F401  (the fixture)

COOKIE = "charity_vote_access"


@pytest.fixture(autouse=True)
def a_voting_service(settings):
    settings.SERVICE_NAME = "voting"
    settings.BROWSER_TOKEN_COOKIE = COOKIE
    settings.SERVICE_PUBLIC_URLS = {"accounts": "", "polls": "", "voting": ""}


def links(request):
    found = pages.page_links(request)["page_links"]
    return {k: v() if callable(v) else v for k, v in found.items()}


def test_behind_one_host_every_link_is_a_path():
    request = RequestFactory().get("/voting/polls/7/?tab=ballot")
    found = links(request)
    assert found["polls"] == "/voting/"
    assert found["history"] == "/voting/history/"
    assert found["results"] == "/voting/results/"
    assert found["me"] == "/accounts/me/"
    assert found["signout"] == "/voting/api/auth/logout/"
    assert found["current"] is None
    assert links(RequestFactory().get("/voting/history/"))["current"] == "history"
    signin = urlsplit(found["signin"])
    assert signin.path == "/accounts/signin/" and not signin.netloc
    assert parse_qs(signin.query)["next"] == ["/voting/polls/7/?tab=ballot"]


def test_on_three_ports_links_name_each_service_s_public_url(settings):
    settings.SERVICE_PUBLIC_URLS = {
        "accounts": "http://127.0.0.1:8001/",
        "polls": "http://127.0.0.1:8002",
        "voting": "http://127.0.0.1:8003",
    }
    request = RequestFactory().get("/voting/history/")
    found = links(request)
    assert found["polls"] == "http://127.0.0.1:8003/voting/"
    assert found["me"] == "http://127.0.0.1:8001/accounts/me/"
    # Sign-out stays on this service: its form carries this page's CSRF token.
    assert found["signout"] == "/voting/api/auth/logout/"
    assert found["signin"] == (
        "http://127.0.0.1:8001/accounts/signin/?next=http%3A%2F%2F127.0.0.1%3A8003%2Fvoting%2Fhistory%2F"
    )


def test_signed_in_only_with_a_cookie_that_verifies():
    factory = RequestFactory()
    assert links(factory.get("/voting/"))["signed_in"] is False
    good = factory.get("/voting/")
    good.COOKIES[COOKIE] = sign(claims())
    assert links(good)["signed_in"] is True and not pages.session_expired(good)
    stale = factory.get("/voting/")
    stale.COOKIES[COOKIE] = sign(claims(iat=1, exp=2))
    assert links(stale)["signed_in"] is False
    assert pages.session_expired(stale)
    assert not pages.session_expired(factory.get("/voting/"))
