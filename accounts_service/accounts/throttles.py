"""Sign-in and registration throttling: per client address, and per email (or stake address) so
that guessing one account's password from many addresses is slowed too.

The client address is the one rule for every throttle here and for the form sign-in's failure
limit (signin.py): REMOTE_ADDR when no proxy is trusted, otherwise the X-Forwarded-For entry the
outermost trusted proxy appended (TRUSTED_PROXY_COUNT, DRF's NUM_PROXIES). Entries further left
are whatever the client sent, so they never pick the counter.

The counters live in the Redis cache; when Redis is away the throttles let requests through and
log a warning (shared_events/kit/cache.py): sign-in and registration stay up, unthrottled."""

import logging

from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from shared_events.kit.cache import CACHE_UNAVAILABLE

log = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str:
    """The address a throttle counts by (DRF's rule, which reads only request.META)."""
    return BaseThrottle().get_ident(request)


class FailOpenRateThrottle(SimpleRateThrottle):
    def get_ident(self, request) -> str:
        return client_address(request)

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_UNAVAILABLE as exc:
            log.warning("throttle %s not applied, its cache is unavailable: %s", self.scope, exc)
            return True


class LoginAddressThrottle(FailOpenRateThrottle):
    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginEmailThrottle(FailOpenRateThrottle):
    scope = "login_email"

    def get_cache_key(self, request, view):
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        # An email is at most 254 characters: a longer one only makes a larger cache key.
        return self.cache_format % {"scope": self.scope, "ident": email.strip().lower()[:254]}


class RegisterThrottle(FailOpenRateThrottle):
    scope = "register"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginStakeAddressThrottle(FailOpenRateThrottle):
    """Wallet sign-in challenges per stake address, as password sign-ins are counted per email."""

    scope = "login_stake_address"

    def get_cache_key(self, request, view):
        address = request.data.get("stake_address") if hasattr(request.data, "get") else None
        if not isinstance(address, str) or not address.strip():
            return None
        return self.cache_format % {"scope": self.scope, "ident": address.strip().lower()[:120]}


class StakeProofThrottle(FailOpenRateThrottle):
    """Challenges and proofs of a stake address, per signed-in account."""

    scope = "stake_proof"

    def get_cache_key(self, request, view):
        if not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": str(request.user.pk)}
