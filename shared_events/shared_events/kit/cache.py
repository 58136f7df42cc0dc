"""The cache lives on Redis, which may be away while the services keep running (as in
Kubernetes). What a use of the cache does then is decided where it is used: the throttles let
the request through and log a warning, the admin sign-on refuses a ticket it cannot mark used
with 503 and Retry-After. Nothing answers 500 for it."""

from __future__ import annotations

from redis.exceptions import RedisError

# What the Redis cache backend raises when Redis does not answer.
CACHE_UNAVAILABLE: tuple[type[Exception], ...] = (RedisError, OSError)
