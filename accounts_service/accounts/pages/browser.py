"""Who the browser is signed in as: the account named by the sign-in cookie's token."""

from __future__ import annotations

from django.http import HttpRequest

from shared_events.kit.errors import NotFound
from shared_events.kit.pages import browser_claims

from ..models import Account
from ..selectors import account_get


def signed_in_account(request: HttpRequest) -> Account | None:
    """The active account of a cookie that verifies, or None (as the API's authentication: a
    deactivated account is signed out at once, not when its token expires)."""
    claims = browser_claims(request)
    if claims is None:
        return None
    try:
        account = account_get(account_id=claims.subject)
    except NotFound:
        return None
    return account if account.is_active else None
