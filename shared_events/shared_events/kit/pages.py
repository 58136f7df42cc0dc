"""The delegators' pages of every service: one look (templates/kit/page.html, static/kit/) and
the links between the services, built from their public URLs.

Under `manage_all.py up` each service has its own port and `<SERVICE>_PUBLIC_URL` names it;
behind the cluster's single host those are empty and a link is a path. The browser's sign-in is
the cookie accounts sets (identity/browser.py); it is sent to every service on the host."""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest

from .identity.tokens import InvalidToken, TokenClaims, verify_token


def public_url(service: str) -> str:
    """Where a browser reaches `service` ("" when all services share one host)."""
    return settings.SERVICE_PUBLIC_URLS.get(service, "").rstrip("/")


def service_url(service: str, path: str) -> str:
    """`path` (under the service's prefix, e.g. "/voting/history/") as a browser reaches it."""
    return f"{public_url(service)}{path}"


def here(request: HttpRequest) -> str:
    """This page as another service's page must link to it (a `next` for accounts' sign-in)."""
    return service_url(settings.SERVICE_NAME, request.get_full_path())


def signin_url(request: HttpRequest, next_url: str | None = None) -> str:
    """accounts' sign-in page, coming back to `next_url` (by default: this page)."""
    query = urlencode({"next": next_url if next_url is not None else here(request)})
    return f"{service_url('accounts', '/accounts/signin/')}?{query}"


def browser_claims(request: HttpRequest) -> TokenClaims | None:
    """The signed-in browser's token claims, or None (no cookie, or one that no longer
    verifies: expired, or signed with a retired key)."""
    token = request.COOKIES.get(settings.BROWSER_TOKEN_COOKIE)
    if not token:
        return None
    try:
        return verify_token(token)
    except InvalidToken:
        return None


def session_expired(request: HttpRequest) -> bool:
    """The browser holds a sign-in cookie that no longer verifies: it was signed in, and its
    session ended (the page says so, rather than a bare sign-in form)."""
    return bool(request.COOKIES.get(settings.BROWSER_TOKEN_COOKIE)) and (
        browser_claims(request) is None
    )


def signed_in(request: HttpRequest) -> bool:
    return browser_claims(request) is not None


NAV_PATHS = {
    "polls": ("voting", "/voting/"),
    "history": ("voting", "/voting/history/"),
    "results": ("voting", "/voting/results/"),
    "me": ("accounts", "/accounts/me/"),
}


def page_links(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the header's links and the sign-in state, for templates/kit/page.html."""
    service = settings.SERVICE_NAME
    current = next(
        (name for name, (s, path) in NAV_PATHS.items() if s == service and path == request.path),
        None,
    )
    return {
        "page_links": {
            **{name: service_url(s, path) for name, (s, path) in NAV_PATHS.items()},
            "current": current,  # the header's link to this very page, if any (aria-current)
            # Callables, which the template calls only if it shows them (not the admin's pages).
            "signin": functools.partial(signin_url, request),
            # The current service's own sign-out (a POST with this page's CSRF token): the
            # cookie is the sign-in of all services, so forgetting it here signs out of all.
            "signout": f"/{service}/api/auth/logout/",
            "signout_next": request.get_full_path(),
            "signed_in": functools.partial(signed_in, request),
            "service": service,
        }
    }
