"""My account: email, points and their ledger, stake address. Changes go through accounts' own
JSON API from the page (`me/`, `me/stake-address/challenge|verify/`)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from shared_events.kit.pages import signin_url

from .. import selectors
from .browser import signed_in_account

LEDGER_PAGE_SIZE = 25


@never_cache
@require_GET
def me_page(request: HttpRequest) -> HttpResponse:
    account = signed_in_account(request)
    if account is None:
        return redirect(signin_url(request))
    ledger = Paginator(selectors.ledger_for(account=account), LEDGER_PAGE_SIZE)
    context = {
        "account": account,
        "has_password": account.has_usable_password(),
        "ledger": ledger.get_page(request.GET.get("page")),
    }
    return render(request, "accounts/me.html", context)
