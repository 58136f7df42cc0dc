"""Koios' REST API (PostgREST) over requests: GET for the views, POST for the bulk functions
(`tx_info`), every request retried and its errors classified. Its public tier answers bursts
with 429 and a pause; an optional bearer token (`KOIOS_API_TOKEN`) raises the limits."""

from __future__ import annotations

from typing import Any

import requests

from .errors import ChainSourceInvalidAnswer, ChainSourceRefused
from .retry import Retryable, RetryPolicy, parse_retry_after, with_retries

DEFAULT_API_URLS = {
    "mainnet": "https://api.koios.rest/api/v1",
    "preprod": "https://preprod.koios.rest/api/v1",
    "preview": "https://preview.koios.rest/api/v1",
}


class KoiosClient:
    def __init__(self, *, api_url: str, token: str | None, policy: RetryPolicy) -> None:
        self.base = api_url.rstrip("/")
        self.policy = policy
        self._session = requests.Session()
        self._session.headers["Accept"] = "application/json"
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    def get(self, what: str, endpoint: str, params: dict) -> tuple[object, str | None]:
        """The decoded answer and its Content-Range header (PostgREST names a page's rows)."""
        return self._request(what, "GET", endpoint, params=params)

    def post(self, what: str, endpoint: str, body: dict[str, Any]) -> object:
        answer, _ = self._request(what, "POST", endpoint, json=body)
        return answer

    def _request(
        self, what: str, method: str, endpoint: str, **kwargs: Any
    ) -> tuple[object, str | None]:
        url = f"{self.base}/{endpoint}"

        def attempt() -> tuple[object, str | None]:
            try:
                response = self._session.request(method, url, timeout=self.policy.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as error:
                raise Retryable(f"cannot reach Koios ({type(error).__name__})") from None
            status = response.status_code
            if status == 429:
                raise Retryable(
                    "rate limited (429)",
                    retry_after=parse_retry_after(response.headers.get("Retry-After")),
                )
            if status >= 500:
                raise Retryable(f"server error {status}")
            if status not in (200, 206):  # 206: PostgREST's answer to a partial range
                raise ChainSourceRefused(f"{what}: Koios answered {status}: {response.text[:200]}")
            try:
                return response.json(), response.headers.get("Content-Range")
            except ValueError:
                raise ChainSourceInvalidAnswer(f"{what}: the answer is not JSON") from None

        return with_retries(attempt, policy=self.policy, what=what)
