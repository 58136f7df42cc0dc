"""Signing in with a form: the accounts admin and the browsable API of all services.

Both count failed attempts per client address and per email (as the token API's throttles do,
with the same client address and the same fail-open rule when the cache is away: throttles.py),
and the browsable-API sign-in also sets the cookie the other services accept
(shared_events/kit/identity/browser.py)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST
from rest_framework.throttling import SimpleRateThrottle

from shared_events.kit.cache import CACHE_UNAVAILABLE
from shared_events.kit.identity.browser import (
    forget_browser_token,
    known_hosts,
    safe_next,
    set_browser_token,
)

from .services import browser_token_issue
from .throttles import client_address

log = logging.getLogger(__name__)

_WINDOW = 60


def _limit(scope: str) -> int:
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]
    return SimpleRateThrottle.parse_rate(None, rate)[0]


class FailureThrottleMixin:
    """Refuses a sign-in after too many failures from one address or for one email."""

    def _keys(self) -> list[tuple[str, int]]:
        address = client_address(self.request) if self.request else ""
        # An email is at most 254 characters: a longer name only makes a larger cache key.
        email = (self.data.get("username") or "").strip().lower()[:254]
        return [
            (f"signin-failures:addr:{address}", _limit("login")),
            (f"signin-failures:email:{email}", _limit("login_email")),
        ]

    def _too_many_failures(self) -> bool:
        try:
            return any(cache.get(key, 0) >= limit for key, limit in self._keys())
        except CACHE_UNAVAILABLE as exc:
            log.warning("sign-in failure limit not applied, its cache is unavailable: %s", exc)
            return False

    def _count_failure(self) -> None:
        try:
            for key, _ in self._keys():
                cache.add(key, 0, timeout=_WINDOW)
                try:
                    cache.incr(key)
                except ValueError:  # the window ended between add() and incr()
                    cache.set(key, 1, timeout=_WINDOW)
        except CACHE_UNAVAILABLE as exc:
            log.warning("sign-in failure not counted, its cache is unavailable: %s", exc)

    def clean(self):  # type: ignore[override]
        if self._too_many_failures():
            raise ValidationError(
                "Too many failed sign-ins; wait a minute and try again.", code="throttled"
            )
        try:
            return super().clean()  # type: ignore[misc]
        except ValidationError:
            self._count_failure()
            raise


class ThrottledAuthenticationForm(FailureThrottleMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(FailureThrottleMixin, AdminAuthenticationForm):
    """The admin's form (staff only), with the same failure throttle."""


class BrowserLoginView(LoginView):
    """The browsable API's "Log in", for every service: a session here, the token cookie for
    all, then back to the page the user came from (any service's public URL)."""

    template_name = "rest_framework/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = False

    def get_success_url_allowed_hosts(self) -> set[str]:
        return known_hosts(self.request)

    def get_default_redirect_url(self) -> str:
        return "/accounts/api/me/"

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        token, max_age = browser_token_issue(account=form.get_user())
        set_browser_token(response, self.request, token, max_age)
        return response


@never_cache
@require_POST  # with the CSRF token: a link or image on any page must not sign anyone out
@csrf_protect
def browser_logout(request: HttpRequest) -> HttpResponse:
    logout(request)
    response = redirect(
        safe_next(
            request,
            request.POST.get("next") or request.GET.get("next"),
            "/accounts/api/auth/login/",
        )
    )
    forget_browser_token(response)
    return response
