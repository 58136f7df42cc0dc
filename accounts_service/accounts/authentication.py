"""Inside accounts a token's subject is loaded from the database, so a deactivated account is
refused at once rather than when its access token expires."""

from rest_framework import exceptions

from shared_events.kit.errors import NotFound
from shared_events.kit.identity.authentication import JWTAuthentication
from shared_events.kit.identity.tokens import TokenClaims

from .models import Account
from .selectors import account_get


class AccountJWTAuthentication(JWTAuthentication):
    def user_for(self, claims: TokenClaims) -> Account:
        try:
            account = account_get(account_id=claims.subject)
        except NotFound:
            account = None
        if account is None or not account.is_active:
            raise exceptions.AuthenticationFailed("account not found or disabled")
        return account
