"""What a lookup of a transaction tells: how deep it is and what it paid to which address."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Protocol

from shared_events.kit.chain_clients import values
from shared_events.kit.chain_clients.errors import ChainSourceInvalidAnswer


@dataclasses.dataclass(frozen=True)
class TxSeen:
    confirmations: int  # blocks holding it, its own included
    # Lovelace per address (lower-case bech32) over the transaction's outputs; empty when its
    # scripts failed (then only its collateral moved).
    paid: dict[str, int]


class TxLookup(Protocol):
    name: str

    def transaction(self, tx_hash: str) -> TxSeen | None:
        """The transaction as the chain has it, or None when the source does not know it (not
        yet, or never, on chain). Raises a ChainSourceError when it cannot say."""
        ...


def lovelace_by_address(outputs: Iterable[tuple[object, object]], *, what: str) -> dict[str, int]:
    """Sums (address, lovelace) pairs per address; a nonsense value fails the whole answer."""
    paid: dict[str, int] = {}
    for address, amount in outputs:
        if not isinstance(address, str) or not address:
            raise ChainSourceInvalidAnswer(f"{what}: an output without an address")
        try:
            lovelace = values.lovelace(amount)
        except ValueError as problem:
            raise ChainSourceInvalidAnswer(f"{what}: {problem}") from None
        paid[address.lower()] = paid.get(address.lower(), 0) + lovelace
    return paid


def confirmations(*, tip_height: object, tx_height: object, what: str) -> int:
    if isinstance(tip_height, bool) or not isinstance(tip_height, int):
        raise ChainSourceInvalidAnswer(f"{what}: the tip has no block height")
    if isinstance(tx_height, bool) or not isinstance(tx_height, int):
        raise ChainSourceInvalidAnswer(f"{what}: the transaction has no block height")
    return max(0, tip_height - tx_height + 1)
