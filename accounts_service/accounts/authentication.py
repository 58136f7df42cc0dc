"""Inside accounts a token's subject is loaded from the database, so a deactivated account is
refused at once rather than when its access token expires."""

from rest_framework import exceptions

from shared_events.kit.identity.authentication import JWTAuthentication
from shared_events.kit.identity.tokens import TokenClaims

from .models import Account


class AccountJWTAuthentication(JWTAuthentication):
    def user_for(self, claims: TokenClaims) -> Account:
        account = Account.objects.filter(pk=claims.subject).first()
        if account is None or not account.is_active:
            raise exceptions.AuthenticationFailed("account not found or disabled")
        return account
