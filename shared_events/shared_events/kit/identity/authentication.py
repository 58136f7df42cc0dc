"""DRF authentication by bearer JWT, for services that hold only the public key."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from django.conf import settings
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from ...core.log_context import bind
from .standing import OPERATOR, Standing, account_standing
from .tokens import InvalidToken, TokenClaims, verify_token

DELEGATOR = "delegator"


class TokenUser:
    """The caller as the token names them. Role and active flag come from this service's
    replica of accounts once it knows the account (identity/standing.py), so a demotion or a
    deactivation ends operator rights within the replication lag, not at token expiry. Voting
    power and eligibility are never read from here (voting_service uses its voter replica)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, claims: TokenClaims) -> None:
        self.claims = claims
        self.id: uuid.UUID = claims.subject
        self.pk = self.id

    @functools.cached_property
    def standing(self) -> Standing | None:
        # Looked up on first use: a request that never asks for the role (a ballot) costs no
        # query for it.
        return account_standing(self.id)

    @property
    def role(self) -> str:
        return self.standing.role if self.standing is not None else self.claims.role

    @property
    def is_active(self) -> bool:
        return self.standing.is_active if self.standing is not None else True

    @property
    def is_operator(self) -> bool:
        return self.is_active and self.role == OPERATOR

    @property
    def is_staff(self) -> bool:
        return self.is_operator

    def __str__(self) -> str:
        return f"{self.role} {self.id}"


class JWTAuthentication(authentication.BaseAuthentication):
    """A bearer token in the Authorization header (API clients), or else the same kind of token
    in the browser cookie accounts sets at sign-in (the browsable API, across all services).
    The cookie is sent by the browser on its own, so cookie requests must pass the CSRF check."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Any, TokenClaims] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts:
            return self._from_cookie(request)
        if parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        try:
            claims = verify_token(parts[1].decode("ascii", errors="replace"))
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return self._signed_in(claims), claims

    def _from_cookie(self, request: Request) -> tuple[Any, TokenClaims] | None:
        token = request.COOKIES.get(settings.BROWSER_TOKEN_COOKIE)
        if not token:
            return None
        try:
            claims = verify_token(token)
        except InvalidToken:
            return None  # an expired browser sign-in: anonymous, so the page offers "Log in"
        user = self._signed_in(claims)
        # The cookie comes with every request the browser sends: the same CSRF check as DRF's
        # session cookie.
        authentication.SessionAuthentication().enforce_csrf(request)
        return user, claims

    def _signed_in(self, claims: TokenClaims) -> Any:
        user = self.user_for(claims)
        bind(account_id=str(claims.subject))  # on the request's log lines from here on
        return user

    def user_for(self, claims: TokenClaims) -> Any:
        return TokenUser(claims)

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403 to a missing token.
        return 'Bearer realm="api"'


class AnonymousWithBearerChallenge(authentication.BaseAuthentication):
    """For sign-in endpoints: nobody is authenticated, but a failed sign-in still answers 401
    with a Bearer challenge (DRF turns it into 403 when a view has no authentication class)."""

    def authenticate(self, request: Request) -> None:
        return None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
