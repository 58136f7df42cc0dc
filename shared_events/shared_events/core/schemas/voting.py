"""Events produced by voting_service."""

from __future__ import annotations

import dataclasses

from .base import EventData
from .registry import define_aggregate_events


@dataclasses.dataclass(frozen=True, kw_only=True)
class CauseTally(EventData):
    cause_id: str
    points: int
    voters: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class TallyState(EventData):
    """The tally of one poll (aggregate id = poll id). While the poll is open it is published
    at most about once a second, not once per ballot; the last state has `final: true`, with the
    count and a digest of exactly the ballots it counted."""

    poll_id: str
    causes: list[CauseTally]
    ballots: int
    total_points: int
    final: bool
    ballots_digest: str | None
    computed_at: str  # ISO 8601
    deleted: bool = False
    # Added after the first release, so optional: the digest of the counted ballots' receipts.
    receipts_digest: str | None = None
    # Added later, so optional: on the final tally, the instant (ISO 8601) from which voting
    # accepted no ballot of the poll. Every counted revision was accepted before it, so polls
    # records it as the poll's closes_at.
    closes_at: str | None = None
    # Added later (voting power from the chain), so optional: the poll's power formula and
    # snapshot epoch as voting applied them, how many delegators may vote and the sum of their
    # frozen power (None from a voting that predates them).
    power_formula: str | None = None
    snapshot_epoch: int | None = None
    eligible: int | None = None
    total_power: int | None = None


TALLY_EVENTS = define_aggregate_events("voting.tally", TallyState)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ParticipationState(EventData):
    """Whether one delegator has a counted ballot in one poll (aggregate id =
    "<poll_id>:<account_id>"); who voted, never how. accounts reads it so that "closes in 24
    hours and you have not voted" reaches only those who have not."""

    poll_id: str
    account_id: str
    voted: bool  # False again after a retraction
    at: str  # ISO 8601
    deleted: bool = False


PARTICIPATION_EVENTS = define_aggregate_events("voting.participation", ParticipationState)
