"""The `blockfrost` chain source, through the official blockfrost-python SDK (called, retried
and classified by `shared_events.kit.chain_clients.blockfrost`).

Endpoints: `epochs/latest` and `epochs/{epoch}/stakes/{pool_id}` (pages of at most 100, `count`
and `page`, the last page shorter).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pycardano import Network

from shared_events.kit.chain_clients import values
from shared_events.kit.chain_clients.blockfrost import BlockfrostClient, default_api_url
from shared_events.kit.chain_clients.retry import RetryPolicy

from .base import ChainSourceInvalidAnswer, StakeRow
from .distribution import DistributionBuilder, items_of

__all__ = ["BlockfrostSource", "default_api_url"]

T = TypeVar("T")
PAGE_SIZE = 100  # the most Blockfrost serves per page
MAX_PAGES = 10_000  # a million delegators; a source that pages on past it is broken


class BlockfrostSource:
    name = "blockfrost"

    def __init__(
        self, *, project_id: str, api_url: str, network: Network, policy: RetryPolicy
    ) -> None:
        self._client = BlockfrostClient(project_id=project_id, api_url=api_url, policy=policy)
        self._api = self._client.api
        self._network = network
        self._policy = policy

    def current_epoch(self) -> int:
        what = "Blockfrost epochs/latest"
        answer = self._call(what, lambda: self._api.epoch_latest(return_type="json"))
        if not isinstance(answer, dict) or "epoch" not in answer:
            raise ChainSourceInvalidAnswer(f"{what}: expected an object with an epoch")
        try:
            return values.epoch_number(answer["epoch"])
        except ValueError as problem:
            raise ChainSourceInvalidAnswer(f"{what}: {problem}") from None

    def pool_stake_distribution(self, pool_id: str, epoch: int) -> list[StakeRow]:
        what = f"Blockfrost epochs/{epoch}/stakes/{pool_id}"
        builder = DistributionBuilder(network=self._network, what=what)
        for page in range(1, MAX_PAGES + 1):

            def one_page(page: int = page) -> object:
                return self._api.epoch_pool_stakes(
                    epoch, pool_id, count=PAGE_SIZE, page=page, return_type="json"
                )

            answer = self._call(f"{what} page {page}", one_page)
            items = items_of(answer, fields=("stake_address", "amount"), what=what)
            if len(items) > PAGE_SIZE:
                raise ChainSourceInvalidAnswer(
                    f"{what}: {len(items)} rows on a page of {PAGE_SIZE}"
                )
            builder.add_all((item["stake_address"], item["amount"]) for item in items)
            if len(items) < PAGE_SIZE:
                return builder.rows()
        raise ChainSourceInvalidAnswer(f"{what}: still paging after {MAX_PAGES} pages")

    def _call(self, what: str, request: Callable[[], T]) -> T:
        return self._client.call(what, request)
