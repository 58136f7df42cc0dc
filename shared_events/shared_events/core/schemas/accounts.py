"""Events produced by accounts_service."""

from __future__ import annotations

import dataclasses

from .base import EventData
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


@dataclasses.dataclass(frozen=True, kw_only=True)
class EpochStakePart(EventData):
    """One part of the pool's stake distribution in one epoch (aggregate `accounts.epoch_stake`,
    id "{epoch}-{part}"), published once, when accounts has stored the whole epoch. Each row is
    [stake_address, lovelace, loyalty], sorted by stake address, at most 1000 a part; an empty
    epoch is one part with no rows. Loyalty: the consecutive epochs ending at this one
    (inclusive) in which the address was in the pool's distribution."""

    epoch: int
    part: int  # 0-based
    parts: int
    pool_id: str
    rows: list[list]


EPOCH_STAKE_EVENTS = define_aggregate_events("accounts.epoch_stake", EpochStakePart)
