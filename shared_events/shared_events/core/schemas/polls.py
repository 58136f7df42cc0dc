"""Events produced by polls_service."""

from __future__ import annotations

import dataclasses

from django.db.models import TextChoices

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


class PollStatus(TextChoices):
    """`PollState.status`. Django choices, so the models of polls and voting use them as is."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    OPEN = "open"
    # An operator closed it early: voting takes ballots until closes_at (if it heard in time)
    # and answers with its final tally, which says when it really stopped.
    CLOSING = "closing"
    CLOSED = "closed"
    FINALIZED = "finalized"
    CANCELLED = "cancelled"


class ResultsVisibility(TextChoices):
    """`PollState.results_visibility`: whether tallies may be shown before the close."""

    LIVE = "live", "live (the tally is visible while the poll is open)"
    AFTER_CLOSE = "after_close", "after close (nothing is shown until the poll closes)"


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
    status: str  # a PollStatus value
    results_visibility: str  # a ResultsVisibility value
    causes: list[str]  # cause ids, in display order
    deleted: bool = False


POLL_EVENTS = define_aggregate_events("polls.poll", PollState)
