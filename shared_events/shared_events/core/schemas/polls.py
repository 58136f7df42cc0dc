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


@dataclasses.dataclass(frozen=True, kw_only=True)
class PollState(EventData):
    """A funding round as voting_service needs it: when ballots are accepted, for which causes,
    and whether tallies may be shown before the close."""

    id: str
    title: str
    description: str
    fund_lovelace: int
    opens_at: str  # ISO 8601, UTC
    closes_at: str
    # draft | scheduled | open | closing | closed | finalized | cancelled. `closing`: an
    # operator closed it early; voting takes ballots until closes_at (if it heard in time)
    # and answers with its final tally, which says when it really stopped.
    status: str
    results_visibility: str  # live | after_close
    causes: list[str]  # cause ids, in display order
    deleted: bool = False


POLL_EVENTS = define_aggregate_events("polls.poll", PollState)
