"""Who is viewing a page: the sign-in cookie accounts sets, checked with the public key as the
API checks it; a page that needs someone and has nobody sends the browser to accounts'
sign-in page and back."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from shared_events.kit.identity.admin_sso import public_url
from shared_events.kit.identity.tokens import InvalidToken, verify_token


def viewer_id(request: HttpRequest) -> uuid.UUID | None:
    """The account the browser's sign-in cookie names, or None (no cookie, or expired)."""
    token = request.COOKIES.get(settings.BROWSER_TOKEN_COOKIE)
    if not token:
        return None
    try:
        return verify_token(token).subject
    except InvalidToken:
        return None


def signin_url(request: HttpRequest) -> str:
    """accounts' sign-in page, coming back to this page (by this service's public URL, so it
    works on three ports as behind one host)."""
    back = f"{public_url(settings.SERVICE_NAME)}{request.get_full_path()}"
    return f"{public_url('accounts')}/accounts/signin/?{urlencode({'next': back})}"


def signed_in(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view gets `viewer` (the account id); nobody signed in is sent to sign in. Pages
    about someone are never cached."""

    @never_cache
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        viewer = viewer_id(request)
        if viewer is None:
            return redirect(signin_url(request))
        return view(request, *args, viewer=viewer, **kwargs)

    return wrapper
