"""Events produced by accounts_service."""

from __future__ import annotations

import dataclasses
from typing import Any

from .base import EventData, EventDecodeError
from .registry import define_aggregate_events


@dataclasses.dataclass(frozen=True, kw_only=True)
class AccountState(EventData):
    """What other services may know of an account: never its email or password."""

    id: str
    role: str  # "operator" | "delegator"
    is_active: bool
    points: int
    stake_address: str | None  # only one its holder proved with a signature of its stake key
    joined_at: str
    deleted: bool = False


ACCOUNT_EVENTS = define_aggregate_events("accounts.account", AccountState)


# At most this many rows per part: a part of 1000 rows is about 90 kB, far below NATS' 1 MB
# message limit, and a 20,000-delegator epoch is 20 messages.
EPOCH_STAKE_ROWS_PER_PART = 1000


@dataclasses.dataclass(frozen=True, kw_only=True)
class EpochStakePart(EventData):
    """One part of the pool's active stake distribution in `epoch`, as accounts stored it.

    Aggregate id "{epoch}-{part}". An epoch is `parts` parts (0 to parts - 1), each with at most
    EPOCH_STAKE_ROWS_PER_PART rows sorted by stake address (code point order) across the parts;
    an epoch without delegators is one part without rows. Each row is
    `[stake_address, lovelace, loyalty]`: loyalty counts the consecutive epochs ending at
    `epoch` (inclusive) in which the address was in the distribution, over at most the loyalty
    window (`loyalty_window` epochs). Accounts sends an epoch once, when its loyalty is final
    (every epoch of the window before it stored), so every part has version 1 and a replica of
    the parts never changes.
    """

    epoch: int
    part: int
    parts: int
    pool_id: str
    rows: list[list[str | int]]
    loyalty_window: int | None = None  # how far back loyalty looked (LOYALTY_BACKFILL_EPOCHS)

    def __post_init__(self) -> None:
        if not 0 <= self.part < self.parts:
            raise EventDecodeError(f"EpochStakePart: part {self.part} of {self.parts}")
        for index, row in enumerate(self.rows):
            # Later columns may be added; these three keep their places.
            if (
                len(row) < 3
                or not isinstance(row[0], str)
                or not _count(row[1])
                or not _count(row[2])
            ):
                raise EventDecodeError(
                    f"EpochStakePart: rows[{index}] is not [stake_address, lovelace, loyalty]"
                )

    @property
    def aggregate_id(self) -> str:
        return epoch_stake_part_id(self.epoch, self.part)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def epoch_stake_part_id(epoch: int, part: int) -> str:
    return f"{epoch}-{part}"


# Accounts only ever sends `created` (version 1); the other verbs exist so that no consumer's
# registration can fail on them.
EPOCH_STAKE_EVENTS = define_aggregate_events("accounts.epoch_stake", EpochStakePart)
