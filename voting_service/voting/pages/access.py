"""Who is viewing a page: the sign-in cookie accounts sets, checked with the public key as the
API checks it (the kit's `browser_claims`); a page that needs someone and has nobody sends the
browser to accounts' sign-in page and back (the kit's `signin_url`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from shared_events.kit.pages import browser_claims, signin_url


def signin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view gets `viewer` (the account id); nobody signed in (or an expired sign-in) is
    sent to sign in. Pages about someone are never cached."""

    @never_cache
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        claims = browser_claims(request)
        if claims is None:
            return redirect(signin_url(request))
        return view(request, *args, viewer=claims.subject, **kwargs)

    return wrapper
