"""Single sign-on into the admin of polls_service and voting_service.

An operator is one identity across the three admins, and passwords never leave
accounts_service. This service's admin login page sends the browser to accounts
(`/accounts/sso/admin/?service=<this>&next=...`), where the operator signs in to the accounts
admin if they have not already; accounts then sends the browser back here with a signed,
one-minute, one-use ticket (`typ: admin_sso`, `svc: <this service>`). This module verifies it
with the public key, keeps a local staff user named by the account id (no password), and starts
an admin session that ends after ADMIN_SSO_SESSION_SECONDS, or on the next request once this
service's replica of accounts says the account is no longer an active operator.
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..cache import CACHE_UNAVAILABLE
from .standing import OPERATOR, account_standing
from .tokens import ADMIN_SSO, InvalidToken, verify_token


def safe_admin_path(candidate: str | None, service: str) -> str:
    """Only a path inside that service's own prefix: never an open redirect."""
    default = f"/{service}/admin/"
    if not candidate or not candidate.startswith(f"/{service}/") or candidate.startswith("//"):
        return default
    if not url_has_allowed_host_and_scheme(candidate, allowed_hosts=None):
        return default
    return candidate


def public_url(service: str) -> str:
    """Where a browser reaches `service` ("" when all services share one host)."""
    return settings.SERVICE_PUBLIC_URLS.get(service, "").rstrip("/")


@never_cache
@require_GET
def sso_login_redirect(request: HttpRequest) -> HttpResponse:
    service = settings.SERVICE_NAME
    next_path = safe_admin_path(request.GET.get("next"), service)
    query = urlencode({"service": service, "next": next_path})
    return redirect(f"{public_url('accounts')}/accounts/sso/admin/?{query}")


@never_cache
@require_GET
def sso_callback(request: HttpRequest) -> HttpResponse:
    service = settings.SERVICE_NAME
    try:
        claims = verify_token(request.GET.get("token", ""), expected_type=ADMIN_SSO)
    except InvalidToken as exc:
        return HttpResponseForbidden(f"Sign-in ticket refused: {exc}. Sign in again.")
    if claims.extra.get("svc") != service:
        return HttpResponseForbidden("Sign-in ticket refused: it is for another service.")
    if claims.role != OPERATOR:
        return HttpResponseForbidden("Only operators may use this admin.")
    if _no_longer_operator(claims.subject):
        # The replica is behind accounts here (a reactivation or a promotion on its way), or
        # the ticket predates a demotion: either way the replica decides, as for API tokens.
        return HttpResponseForbidden(
            "This service does not know your account as an active "
            "operator yet. Try again in a moment."
        )
    # One use: a ticket seen in a log or a browser history cannot open a second session.
    try:
        first_use = cache.add(f"admin-sso-ticket:{claims.jti}", 1, timeout=300)
    except CACHE_UNAVAILABLE:
        # A ticket that cannot be marked used could be used twice: refuse it, for now.
        response = HttpResponse(
            "Sign-in is unavailable for a moment; try again shortly.",
            status=503,
            content_type="text/plain",
        )
        response["Retry-After"] = "5"
        return response
    if not first_use:
        return HttpResponseForbidden("Sign-in ticket already used. Sign in again.")
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=str(claims.subject))
    user.email = str(claims.extra.get("email", ""))[:254]
    user.first_name = user.email[:150]  # the admin greets by this, not by the account id
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_unusable_password()
    user.save()
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session.set_expiry(settings.ADMIN_SSO_SESSION_SECONDS)
    request.session[_CHECKED_AT] = time.time()
    return redirect(safe_admin_path(request.GET.get("next"), service))


_CHECKED_AT = "admin_sso_checked_at"


def _no_longer_operator(account_id: uuid.UUID) -> bool:
    """The replica knows this account and says it is not an active operator (identity/standing.py:
    an account it does not know yet keeps what accounts' ticket said)."""
    standing = account_standing(account_id)
    return standing is not None and not standing.is_operator


def _session_account_id(user) -> uuid.UUID | None:
    try:
        return uuid.UUID(user.get_username())
    except ValueError:
        return None  # not an SSO user (a test's force_login): nothing in the replica to ask


class AdminSessionRecheckMiddleware:
    """Ends an admin session once this service's replica of accounts says the operator was
    demoted or deactivated (checked on every admin request: one primary-key read), and every
    ADMIN_SSO_RECHECK_SECONDS sends the session back to accounts for a new ticket anyway.

    That round trip is invisible while the operator's accounts session lives; the replica check
    is what makes a demotion or deactivation end this admin within the replication lag."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        service = settings.SERVICE_NAME
        admin_prefix = f"/{service}/admin/"
        if (
            settings.ADMIN_SSO
            and request.path.startswith(admin_prefix)
            and not request.path.startswith((f"{admin_prefix}login/", f"{admin_prefix}sso/"))
            and request.user.is_authenticated
        ):
            # Sessions here come only from sso_callback (the login page is replaced), which
            # stamps them; an unstamped one (a test's force_login) has no ticket age to recheck.
            checked = request.session.get(_CHECKED_AT)
            stale = (
                checked is not None and time.time() - checked > settings.ADMIN_SSO_RECHECK_SECONDS
            )
            account_id = _session_account_id(request.user)
            if stale or (account_id is not None and _no_longer_operator(account_id)):
                from django.contrib.auth import logout

                logout(request)
                next_path = request.get_full_path() if request.method == "GET" else admin_prefix
                return redirect(f"{admin_prefix}login/?{urlencode({'next': next_path})}")
        return self.get_response(request)
