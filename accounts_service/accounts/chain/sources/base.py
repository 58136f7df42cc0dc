"""What every chain source answers, and the errors it may raise instead.

A source either answers with data it has checked or raises a `ChainSourceError`; it never fills
a gap with a guess. The caller keeps what it stored before and reports the source as stale.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from shared_events.kit.chain_clients.errors import (
    ChainSourceError,
    ChainSourceInvalidAnswer,
    ChainSourceRefused,
    ChainSourceUnavailable,
)

__all__ = [
    "ChainSource",
    "ChainSourceError",
    "ChainSourceInvalidAnswer",
    "ChainSourceRefused",
    "ChainSourceUnavailable",
    "StakeRow",
    "StakeSnapshotFileError",
]


class StakeRow(NamedTuple):
    """One delegator's active stake in the pool for one epoch."""

    stake_address: str  # canonical bech32 (lower case), checked for the configured network
    lovelace: int


class ChainSource(Protocol):
    """The pool's stake distribution per epoch. Implementations: blockfrost, koios, file."""

    name: str

    def current_epoch(self) -> int:
        """The newest epoch whose active stake distribution the source can answer."""
        ...

    def pool_stake_distribution(self, pool_id: str, epoch: int) -> list[StakeRow]:
        """Every delegator of `pool_id` in `epoch` with their active stake; [] if none.

        Loyalty needs the history: callers ask for one epoch after another.
        """
        ...


class StakeSnapshotFileError(ChainSourceInvalidAnswer):
    """A stake snapshot file that cannot be imported. `where` names the place ("line 7" in a
    CSV file, "item 3" in a JSON one; empty for the file as a whole)."""

    def __init__(self, problem: str, *, where: str = "") -> None:
        self.problem = problem
        self.where = where
        super().__init__(f"{where}: {problem}" if where else problem)
