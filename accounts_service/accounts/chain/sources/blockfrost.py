"""The `blockfrost` chain source, through the official blockfrost-python SDK.

Endpoints: `epochs/latest` and `epochs/{epoch}/stakes/{pool_id}` (pages of at most 100, `count`
and `page`, the last page shorter). The SDK sets no request timeout of its own; the sync task's
Celery time limit bounds a hung call. Blockfrost's own 429 answer has a JSON body, after which
the SDK keeps no headers, so we back off exponentially (its limiter refills at 10 requests/s);
when a proxy in front answers 429 with a plain body, the SDK keeps the response and we wait as
long as its Retry-After says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import requests
from blockfrost import ApiError, BlockFrostApi
from blockfrost.config import ApiUrls
from pycardano import Network

from . import values
from .base import ChainSourceInvalidAnswer, ChainSourceRefused, StakeRow
from .distribution import DistributionBuilder, items_of
from .retry import Retryable, RetryPolicy, parse_retry_after, with_retries

T = TypeVar("T")
PAGE_SIZE = 100  # the most Blockfrost serves per page
MAX_PAGES = 10_000  # a million delegators; a source that pages on past it is broken


def default_api_url(network_name: str) -> str:
    return f"{ApiUrls[network_name].value}/v0"


class BlockfrostSource:
    name = "blockfrost"

    def __init__(
        self, *, project_id: str, api_url: str, network: Network, policy: RetryPolicy
    ) -> None:
        self._api = BlockFrostApi(project_id=project_id, base_url=api_url.rstrip("/"))
        # The SDK appends its API version to base_url; ours is the whole prefix, as Blockfrost
        # documents it (…/api/v0) and as a self-hosted instance serves it (often at the root).
        self._api.api_version = None
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
        def attempt() -> T:
            try:
                return request()
            except ApiError as error:
                raise _classified(what, error) from None
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as error:
                raise Retryable(f"cannot reach Blockfrost ({type(error).__name__})") from None
            except ValueError:  # the SDK decodes the body: not JSON
                raise ChainSourceInvalidAnswer(f"{what}: the answer is not JSON") from None

        return with_retries(attempt, policy=self._policy, what=what)


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
