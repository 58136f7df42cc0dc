"""The `koios` chain source: Koios' REST API (PostgREST) over requests.

Endpoints: `tip` and `pool_delegators_history?_pool_bech32=…&_epoch_no=…`, paged with
`offset`/`limit` (at most 1000 rows a page) in a fixed order so pages do not overlap; Koios
names the rows of each page in a `Content-Range` header, which must agree. Its public tier
answers bursts with 429 and a pause; an optional bearer token (`KOIOS_API_TOKEN`) raises the
limits.
"""

from __future__ import annotations

import re

import requests
from pycardano import Network

from . import values
from .base import ChainSourceInvalidAnswer, ChainSourceRefused, StakeRow
from .distribution import DistributionBuilder, items_of
from .retry import Retryable, RetryPolicy, parse_retry_after, with_retries

PAGE_SIZE = 1000  # Koios' max-rows
MAX_PAGES = 1_000  # a million delegators; a source that pages on past it is broken
DEFAULT_API_URLS = {
    "mainnet": "https://api.koios.rest/api/v1",
    "preprod": "https://preprod.koios.rest/api/v1",
    "preview": "https://preview.koios.rest/api/v1",
}
_CONTENT_RANGE = re.compile(r"^(?:(\d+)-(\d+)|\*)/(\d+|\*)$")


class KoiosSource:
    name = "koios"

    def __init__(
        self, *, api_url: str, token: str | None, network: Network, policy: RetryPolicy
    ) -> None:
        self._base = api_url.rstrip("/")
        self._network = network
        self._policy = policy
        self._session = requests.Session()
        self._session.headers["Accept"] = "application/json"
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    def current_epoch(self) -> int:
        what = "Koios tip"
        answer, _ = self._get(what, "tip", {})
        items = items_of(answer, fields=("epoch_no",), what=what)
        if len(items) != 1:
            raise ChainSourceInvalidAnswer(f"{what}: expected one block, got {len(items)}")
        try:
            return values.epoch_number(items[0]["epoch_no"])
        except ValueError as problem:
            raise ChainSourceInvalidAnswer(f"{what}: {problem}") from None

    def pool_stake_distribution(self, pool_id: str, epoch: int) -> list[StakeRow]:
        what = f"Koios pool_delegators_history {pool_id} epoch {epoch}"
        builder = DistributionBuilder(network=self._network, what=what)
        for page in range(MAX_PAGES):
            offset = page * PAGE_SIZE
            answer, content_range = self._get(
                what,
                "pool_delegators_history",
                {
                    "_pool_bech32": pool_id,
                    "_epoch_no": epoch,
                    "order": "stake_address.asc",
                    "offset": offset,
                    "limit": PAGE_SIZE,
                },
            )
            # Koios documents this array as nullable: null is an epoch without delegators.
            items = (
                []
                if answer is None
                else items_of(answer, fields=("stake_address", "amount", "epoch_no"), what=what)
            )
            _check_range(what, content_range, offset, len(items))
            for item in items:
                if item["epoch_no"] != epoch:
                    raise ChainSourceInvalidAnswer(
                        f"{what}: a row of epoch {item['epoch_no']!r} in the answer"
                    )
                builder.add(item["stake_address"], item["amount"])
            if len(items) < PAGE_SIZE:
                return builder.rows()
        raise ChainSourceInvalidAnswer(f"{what}: still paging after {MAX_PAGES} pages")

    def _get(self, what: str, endpoint: str, params: dict) -> tuple[object, str | None]:
        url = f"{self._base}/{endpoint}"

        def attempt() -> tuple[object, str | None]:
            try:
                response = self._session.get(url, params=params, timeout=self._policy.timeout)
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

        return with_retries(attempt, policy=self._policy, what=what)


def _check_range(what: str, header: str | None, offset: int, count: int) -> None:
    """`Content-Range: 1000-1999/*` must name the rows we asked for and got; `*/0` or
    `*/*` an empty page. An absent header is allowed (a proxy may drop it)."""
    if header is None:
        return
    match = _CONTENT_RANGE.match(header.strip())
    if not match:
        raise ChainSourceInvalidAnswer(f"{what}: unreadable Content-Range {header[:40]!r}")
    first, last = match.group(1), match.group(2)
    if first is None:
        agrees = count == 0
    else:
        agrees = int(first) == offset and int(last) - int(first) + 1 == count
    if not agrees:
        raise ChainSourceInvalidAnswer(
            f"{what}: Content-Range {header!r} for {count} rows from offset {offset}"
        )
