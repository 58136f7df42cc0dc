"""Events produced by polls_service."""

from __future__ import annotations

import dataclasses

from .base import EventData
from .registry import define_aggregate_events


@dataclasses.dataclass(frozen=True, kw_only=True)
class CauseState(EventData):
    id: str
    title: str
    description: str
    url: str
    image_url: str
    is_active: bool
    deleted: bool = False


CAUSE_EVENTS = define_aggregate_events("polls.cause", CauseState)
