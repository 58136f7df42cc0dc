"""Whom the throttles count: the client address from TRUSTED_PROXY_COUNT trusted proxies (DRF's
NUM_PROXIES), the same for the token API and the sign-in forms; and what they do when their
cache (Redis) is away: let the request through, with a warning."""

import logging
import uuid

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.settings import api_settings

from shared_events.core.testing import free_port

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
INGRESS = "10.0.0.7"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()


@pytest.fixture
def rates(settings):
    """Small limits; NUM_PROXIES as configured (no TRUSTED_PROXY_COUNT: 0), or `proxies`."""
    from accounts.throttles import FailOpenRateThrottle

    def configure(
        *,
        proxies: int | None = None,
        login: str = "3/min",
        login_email: str = "1000/min",
        register: str = "1000/min",
    ) -> None:
        overrides = {} if proxies is None else {"NUM_PROXIES": proxies}
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            **overrides,
            "DEFAULT_THROTTLE_RATES": {
                "login": login,
                "login_email": login_email,
                "register": register,
            },
        }
        FailOpenRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]

    yield configure
    FailOpenRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def token_attempt(
    api, *, forwarded_for: str | None = None, remote: str = "192.0.2.10", email: str | None = None
) -> int:
    headers = {"REMOTE_ADDR": remote}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    body = {"email": email or f"{uuid.uuid4().hex[:8]}@example.org", "password": "wrong"}
    return api.post("/accounts/api/token/", body, format="json", **headers).status_code


def test_with_no_trusted_proxy_a_forged_forwarded_for_does_not_escape_the_throttle(api, rates):
    rates()
    codes = [token_attempt(api, forwarded_for=f"198.51.100.{i}") for i in range(4)]
    assert codes == [401, 401, 401, 429]


def test_with_no_trusted_proxy_a_forged_forwarded_for_does_not_escape_registration(api, rates):
    rates(register="2/min")
    codes = [
        api.post(
            "/accounts/api/register/",
            {"email": f"r{i}@example.org", "password": PASSWORD},
            format="json",
            REMOTE_ADDR="192.0.2.10",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        ).status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]


def test_behind_one_proxy_each_client_is_throttled_on_its_own(api, rates):
    rates(proxies=1)
    first = [token_attempt(api, remote=INGRESS, forwarded_for="203.0.113.1") for _ in range(4)]
    assert first == [401, 401, 401, 429]
    # Another client behind the same ingress is not locked out with the first.
    assert token_attempt(api, remote=INGRESS, forwarded_for="203.0.113.2") == 401


def test_behind_one_proxy_only_the_entry_the_proxy_appended_counts(api, rates):
    rates(proxies=1)
    # The client forges entries on the left; the ingress appends the address it saw.
    codes = [
        token_attempt(api, remote=INGRESS, forwarded_for=f"198.51.100.{i}, 203.0.113.1")
        for i in range(4)
    ]
    assert codes == [401, 401, 401, 429]


def admin_failures(client: Client, *, forwarded_for: str, n: int) -> list[bool]:
    """Whether each of n failed admin sign-ins (another email each) was refused as throttled."""
    refused = []
    for _ in range(n):
        response = client.post(
            "/accounts/admin/login/",
            {"username": f"{uuid.uuid4().hex[:8]}@example.org", "password": "wrong"},
            REMOTE_ADDR=INGRESS,
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )
        assert response.status_code == 200
        refused.append(b"Too many failed sign-ins" in response.content)
    return refused


def test_behind_one_proxy_the_admin_form_locks_out_one_client_not_every_operator(rates):
    rates(proxies=1, login="2/min")
    client = Client()
    assert admin_failures(client, forwarded_for="203.0.113.1", n=3) == [False, False, True]
    assert admin_failures(client, forwarded_for="203.0.113.2", n=1) == [False]
    # A forged entry left of the ingress's does not make a new client.
    assert admin_failures(client, forwarded_for="198.51.100.9, 203.0.113.1", n=1) == [True]


def test_with_no_trusted_proxy_the_admin_form_counts_by_the_peer_address(rates):
    rates(login="2/min")
    client = Client()
    refused = [admin_failures(client, forwarded_for=f"198.51.100.{i}", n=1)[0] for i in range(3)]
    assert refused == [False, False, True]


@pytest.fixture
def cache_away(settings):
    """The cache on a Redis address where nothing listens: what a stopped Redis looks like."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/1",
            "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
        }
    }


def test_sign_in_and_registration_work_unthrottled_while_the_cache_is_away(
    api, delegator, rates, cache_away, caplog
):
    rates()
    caplog.set_level(logging.WARNING, logger="accounts.throttles")
    registered = api.post(
        "/accounts/api/register/",
        {"email": "during@example.org", "password": PASSWORD},
        format="json",
    )
    assert registered.status_code == 201, registered.content
    signed_in = api.post(
        "/accounts/api/token/", {"email": delegator.email, "password": PASSWORD}, format="json"
    )
    assert signed_in.status_code == 200, signed_in.content
    assert token_attempt(api, email=delegator.email) == 401
    assert "cache is unavailable" in caplog.text


def test_the_sign_in_forms_work_while_the_cache_is_away(
    client, delegator, rates, cache_away, caplog
):
    rates()
    caplog.set_level(logging.WARNING, logger="accounts.signin")
    wrong = client.post(
        "/accounts/api/auth/login/", {"username": delegator.email, "password": "wrong"}
    )
    assert wrong.status_code == 200 and b"Too many failed" not in wrong.content
    right = client.post(
        "/accounts/api/auth/login/", {"username": delegator.email, "password": PASSWORD}
    )
    assert right.status_code == 302
    assert "cache is unavailable" in caplog.text


def test_a_failure_counted_as_its_window_ends_starts_a_new_window(rates, monkeypatch):
    """The counter can expire between add() and incr(); incr() then raises ValueError, which
    must start a new window rather than answer 500."""
    from accounts import signin

    rates(login="2/min")
    real_incr = signin.cache.incr
    expired_once = []

    def incr_after_expiry(key, *args, **kwargs):
        if not expired_once:
            expired_once.append(key)
            signin.cache.delete(key)
        return real_incr(key, *args, **kwargs)

    monkeypatch.setattr(signin.cache, "incr", incr_after_expiry)
    client = Client()
    assert admin_failures(client, forwarded_for="198.51.100.1", n=3) == [False, False, True]
    assert expired_once
