"""The `koios` chain source: Koios' REST API (PostgREST), called, retried and classified by
`shared_events.kit.chain_clients.koios`.

Endpoints: `tip` and `pool_delegators_history?_pool_bech32=…&_epoch_no=…`, paged with
`offset`/`limit` (at most 1000 rows a page) in a fixed order so pages do not overlap; Koios
names the rows of each page in a `Content-Range` header, which must agree.
"""

from __future__ import annotations

import re

from pycardano import Network

from shared_events.kit.chain_clients import values
from shared_events.kit.chain_clients.koios import DEFAULT_API_URLS, KoiosClient
from shared_events.kit.chain_clients.retry import RetryPolicy

from .base import ChainSourceInvalidAnswer, StakeRow
from .distribution import DistributionBuilder, items_of

__all__ = ["DEFAULT_API_URLS", "KoiosSource"]

PAGE_SIZE = 1000  # Koios' max-rows
MAX_PAGES = 1_000  # a million delegators; a source that pages on past it is broken
_CONTENT_RANGE = re.compile(r"^(?:(\d+)-(\d+)|\*)/(\d+|\*)$")


class KoiosSource:
    name = "koios"

    def __init__(
        self, *, api_url: str, token: str | None, network: Network, policy: RetryPolicy
    ) -> None:
        self._client = KoiosClient(api_url=api_url, token=token, policy=policy)
        self._network = network
        self._policy = policy

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
        return self._client.get(what, endpoint, params)


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
