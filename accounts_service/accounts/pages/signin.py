"""The sign-in page: email and password, or a wallet's signature; then the browser cookie every
service accepts (shared_events/kit/identity/browser.py) and back to `next`."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from shared_events.kit.identity.browser import safe_next, set_browser_token
from shared_events.kit.pages import service_url, session_expired

from .. import services
from .forms import EmailSignInForm, WalletSignInForm

MAX_BODY = 16 * 1024  # a signature and a key are a few hundred bytes of hex


def _next(request: HttpRequest, candidate: str | None) -> str:
    """Where a sign-in returns to: `next` if it is this platform's, else the open polls."""
    return safe_next(request, candidate, service_url("voting", "/voting/"))


def _signed_in(response: HttpResponse, request: HttpRequest, account) -> HttpResponse:
    token, max_age = services.browser_sign_in(account=account)
    set_browser_token(response, request, token, max_age)
    return response


def _form_errors(form) -> tuple[dict[str, list[str]], int]:
    """A bound form's errors as the API gives them (by field, `non_field_errors`), and the
    status: 429 once the failure limit is reached, else 400."""
    errors = {
        ("non_field_errors" if field == "__all__" else field): list(messages)
        for field, messages in form.errors.items()
    }
    throttled = any(e.code == "throttled" for e in form.non_field_errors().as_data())
    return errors, 429 if throttled else 400


def _wants_json(request: HttpRequest) -> bool:
    # The page's script posts the form itself, so that a service briefly away loses nothing
    # typed; without the script the form posts and the page comes back as HTML.
    return request.headers.get("Accept", "").startswith("application/json")


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def signin_page(request: HttpRequest) -> HttpResponse:
    candidate = request.POST.get("next") or request.GET.get("next")
    form = EmailSignInForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        where = _next(request, candidate)
        done = JsonResponse({"next": where}) if _wants_json(request) else redirect(where)
        return _signed_in(done, request, form.get_user())
    status = 200
    if form.is_bound:
        errors, status = _form_errors(form)
        if _wants_json(request):
            return JsonResponse(errors, status=status)
    context = {
        "form": form,
        "next": _next(request, candidate),
        "session_expired": session_expired(request) and not form.is_bound,
    }
    return render(request, "accounts/signin.html", context, status=status)


@never_cache
@csrf_protect
@require_POST
def wallet_signin(request: HttpRequest) -> JsonResponse:
    """The page's wallet path, from its JavaScript: the signed challenge in, the cookie and
    where to go out (JSON, errors by field as the API gives them)."""
    if len(request.body) > MAX_BODY:
        return JsonResponse({"detail": _("The request is too large.")}, status=413)
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: brackets nested thousands deep
        body = None
    if not isinstance(body, dict):
        return JsonResponse({"detail": _("Send a JSON object.")}, status=400)
    fields = {k: v for k, v in body.items() if isinstance(v, str)}
    form = WalletSignInForm(data=fields, request=request)
    if not form.is_valid():
        errors, status = _form_errors(form)
        return JsonResponse(errors, status=status)
    response = JsonResponse({"next": _next(request, fields.get("next"))})
    return _signed_in(response, request, form.account)
