"""The accounts side of admin single sign-on (see shared_events/kit/identity/admin_sso.py)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from shared_events.kit.identity.admin_sso import public_url, safe_admin_path

from .services import admin_sso_ticket_issue

SSO_SERVICES = ("polls", "voting")


@never_cache
@require_GET
def admin_sso_start(request: HttpRequest) -> HttpResponse:
    service = request.GET.get("service")
    if service not in SSO_SERVICES:
        return HttpResponseBadRequest(f"service must be one of {', '.join(SSO_SERVICES)}")
    if not (request.user.is_authenticated and request.user.is_staff):
        # Sign in to the accounts admin first (the only place a password is typed).
        return redirect_to_login(request.get_full_path(), login_url=reverse("admin:login"))
    ticket = admin_sso_ticket_issue(account=request.user, service=service)
    query = urlencode({"token": ticket, "next": safe_admin_path(request.GET.get("next"), service)})
    return redirect(f"{public_url(service)}/{service}/admin/sso/?{query}")
