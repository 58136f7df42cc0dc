"""Turns the rows a source answered into a checked stake distribution: every address a stake
address of the configured network, every amount a possible one, no address twice."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from shared_events.kit.chain_clients import values

from .base import ChainSourceInvalidAnswer, StakeRow

if TYPE_CHECKING:
    from pycardano import Network


class DistributionBuilder:
    """Collects one epoch's rows page by page; `add` raises on the first impossible row."""

    def __init__(self, *, network: Network, what: str) -> None:
        self._network = network
        self._what = what
        self._rows: dict[str, int] = {}

    def add(self, address: object, amount: object) -> None:
        try:
            canonical = values.stake_address(address, self._network)
            lovelace = values.lovelace(amount)
        except ValueError as problem:
            raise ChainSourceInvalidAnswer(f"{self._what}: {problem}") from None
        if canonical in self._rows:
            raise ChainSourceInvalidAnswer(f"{self._what}: {canonical} is listed twice")
        self._rows[canonical] = lovelace

    def add_all(self, rows: Iterable[tuple[object, object]]) -> None:
        for address, amount in rows:
            self.add(address, amount)

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self) -> list[StakeRow]:
        return [StakeRow(address, amount) for address, amount in sorted(self._rows.items())]


def items_of(page: object, *, fields: tuple[str, ...], what: str) -> list[dict]:
    """The objects of a JSON array answer, each holding at least `fields`."""
    if not isinstance(page, list):
        raise ChainSourceInvalidAnswer(f"{what}: expected a JSON array, got {type(page).__name__}")
    for item in page:
        if not isinstance(item, dict) or any(field not in item for field in fields):
            raise ChainSourceInvalidAnswer(
                f"{what}: expected objects with {', '.join(fields)}, got {_sample(item)}"
            )
    return page


def _sample(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 70 else f"{text[:67]}..."
