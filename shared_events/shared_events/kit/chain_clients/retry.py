"""Bounded retries for remote chain sources: 429 waits as long as the source asks (Retry-After)
or backs off exponentially, 5xx and network failures back off too, and after the last attempt
(or when asked to wait longer than we would) the source is `ChainSourceUnavailable`."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from urllib3.exceptions import InvalidHeader
from urllib3.util import Retry

from .errors import ChainSourceUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")


class Retryable(Exception):  # noqa: N818 (a signal between a client and with_retries)
    """Raised by one attempt whose failure may pass: 429, 5xx, a timeout, a refused connection."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    first_delay: float = 1.0  # doubled after every failed attempt
    max_delay: float = 60.0  # a Retry-After longer than this is not waited for: we give up
    timeout: float = 30.0  # per request, where the client lets us set one

    def delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = min(self.first_delay * 2 ** (attempt - 1), self.max_delay)
        return backoff if retry_after is None else max(retry_after, 0.0)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None if absent or
    unreadable, in which case the backoff applies."""
    if not value:
        return None
    try:
        return Retry().parse_retry_after(value)
    except InvalidHeader:
        return None


def with_retries(attempt: Callable[[], T], *, policy: RetryPolicy, what: str) -> T:
    for number in range(1, policy.attempts + 1):
        try:
            return attempt()
        except Retryable as failure:
            if number == policy.attempts:
                raise ChainSourceUnavailable(
                    f"{what}: {failure.reason} (gave up after {number} attempts)"
                ) from None
            wait = policy.delay(number, failure.retry_after)
            if wait > policy.max_delay:
                raise ChainSourceUnavailable(
                    f"{what}: {failure.reason}; asked to wait {wait:.0f} s, more than the "
                    f"{policy.max_delay:.0f} s we wait"
                ) from None
            log.warning(
                "%s: %s; retrying in %.1f s (attempt %d of %d)",
                what,
                failure.reason,
                wait,
                number + 1,
                policy.attempts,
            )
            time.sleep(wait)
    raise AssertionError("unreachable")  # the loop returns or raises
