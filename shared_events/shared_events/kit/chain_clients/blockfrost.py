"""Blockfrost through the official blockfrost-python SDK: one client, every call retried and
its errors classified.

The SDK sets no request timeout of its own; the calling task's Celery time limit bounds a hung
call. Blockfrost's own 429 answer has a JSON body, after which the SDK keeps no headers, so we
back off exponentially (its limiter refills at 10 requests/s); when a proxy in front answers 429
with a plain body, the SDK keeps the response and we wait as long as its Retry-After says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import requests
from blockfrost import ApiError, BlockFrostApi
from blockfrost.config import ApiUrls

from .errors import ChainSourceInvalidAnswer, ChainSourceRefused
from .retry import Retryable, RetryPolicy, parse_retry_after, with_retries

T = TypeVar("T")


def default_api_url(network_name: str) -> str:
    return f"{ApiUrls[network_name].value}/v0"


class BlockfrostClient:
    """`api` is the SDK's; `call` runs one of its requests with retries."""

    def __init__(self, *, project_id: str, api_url: str, policy: RetryPolicy) -> None:
        self.api = BlockFrostApi(project_id=project_id, base_url=api_url.rstrip("/"))
        # The SDK appends its API version to base_url; ours is the whole prefix, as Blockfrost
        # documents it (…/api/v0) and as a self-hosted instance serves it (often at the root).
        self.api.api_version = None
        self.policy = policy

    def call(self, what: str, request: Callable[[], T], *, not_found: T | None = None) -> T:
        """`request()`'s answer. With `not_found` given, a 404 answers that instead of raising
        (Blockfrost's way of saying "no such transaction")."""

        def attempt() -> T:
            try:
                return request()
            except ApiError as error:
                if not_found is not None and error.status_code == 404:
                    return not_found
                raise _classified(what, error) from None
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as error:
                raise Retryable(f"cannot reach Blockfrost ({type(error).__name__})") from None
            except ValueError:  # the SDK decodes the body: not JSON
                raise ChainSourceInvalidAnswer(f"{what}: the answer is not JSON") from None

        return with_retries(attempt, policy=self.policy, what=what)


def _classified(what: str, error: ApiError) -> Exception:
    status = error.status_code
    if not isinstance(status, int):
        return ChainSourceInvalidAnswer(f"{what}: an error answer without a status code")
    if status == 429:
        # The SDK keeps the response only when the body was not JSON (a proxy's 429).
        response = error.args[0] if error.args else None
        headers = response.headers if isinstance(response, requests.Response) else {}
        return Retryable(
            "rate limited (429)", retry_after=parse_retry_after(headers.get("Retry-After"))
        )
    if status >= 500:
        return Retryable(f"server error {status}")
    detail = f": {error.message}" if isinstance(error.message, str) else ""
    return ChainSourceRefused(f"{what}: Blockfrost answered {status}{detail}")
