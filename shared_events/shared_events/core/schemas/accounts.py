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
