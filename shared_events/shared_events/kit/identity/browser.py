"""Signing in once for the browsable API of all three services.

accounts_service's browsable-API login sets an HttpOnly cookie holding an access token (path
`/`, so the browser sends it to every service on the host; ports do not separate cookies, so
the same holds under `manage_all.py up`). The other services' "Log in" and "Log out" links lead
here: log in goes to accounts and comes back; log out (a POST with the CSRF token, never a GET)
forgets the cookie.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlparse

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from .admin_sso import public_url


def known_hosts(request: HttpRequest) -> set[str]:
    """Hosts a sign-in may return to: this one and every service's public URL."""
    hosts = {request.get_host()}
    hosts |= {urlparse(url).netloc for url in settings.SERVICE_PUBLIC_URLS.values() if url}
    return hosts


def safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts=known_hosts(request), require_https=request.is_secure()
    ):
        return candidate
    return default


def set_browser_token(
    response: HttpResponse, request: HttpRequest, token: str, max_age: int
) -> None:
    response.set_cookie(
        settings.BROWSER_TOKEN_COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )


def forget_browser_token(response: HttpResponse) -> None:
    response.delete_cookie(settings.BROWSER_TOKEN_COOKIE, path="/", samesite="Lax")


@never_cache
def login_redirect(request: HttpRequest) -> HttpResponse:
    """This service's "Log in" link: sign in at accounts, then come back to the page."""
    service = settings.SERVICE_NAME
    back = request.GET.get("next") or f"/{service}/api/"
    if not back.startswith(f"/{service}/"):
        back = f"/{service}/api/"
    query = urlencode({"next": f"{public_url(service)}{back}"})
    return redirect(f"{public_url('accounts')}/accounts/api/auth/login/?{query}")


@never_cache
@require_POST  # with the CSRF token: a link or image on any page must not sign anyone out
@csrf_protect
def logout_here(request: HttpRequest) -> HttpResponse:
    """This service's "Log out": the cookie is the sign-in, so forgetting it signs out of all.
    The browsable API's header posts it as a form with the page's CSRF token."""
    service = settings.SERVICE_NAME
    response = redirect(
        safe_next(request, request.POST.get("next") or request.GET.get("next"), f"/{service}/api/")
    )
    forget_browser_token(response)
    return response
