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
    # Added later (payouts on chain), so optional: the bech32 Shelley address the cause is paid
    # to, checked for the configured network ("" until the operator sets it).
    payout_address: str = ""


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
    # Every cause's payout was confirmed on chain (or by hand, in the file mode).
    PAID = "paid"
    CANCELLED = "cancelled"


class ResultsVisibility(TextChoices):
    """`PollState.results_visibility`: whether tallies may be shown before the close."""

    LIVE = "live", "live (the tally is visible while the poll is open)"
    AFTER_CLOSE = "after_close", "after close (nothing is shown until the poll closes)"


class PowerFormula(TextChoices):
    """`PollState.power_formula`: how voting turns a delegator's stake and loyalty into voting
    power in the poll, computed once and frozen when the poll opens."""

    POINTS = "points", "points (loyalty points)"
    STAKE = "stake", "stake (active stake in whole ada)"
    SQRT_STAKE = "sqrt_stake", "square root of the stake (damps whales)"
    STAKE_X_LOYALTY = "stake_x_loyalty", "stake × loyalty (whole ada × consecutive epochs)"


# The formulas that read the pool's stake distribution: they need a chain source.
STAKE_FORMULAS = frozenset(
    {PowerFormula.STAKE, PowerFormula.SQRT_STAKE, PowerFormula.STAKE_X_LOYALTY}
)


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
    # Added later (voting power from the chain), so optional with the behaviour from before:
    # a PowerFormula value; stake below the minimum gives no power; no voter's power above
    # cap_percent of the total (1-100, None: no cap); the epoch whose stake distribution
    # counts (None until the poll opens, then fixed).
    power_formula: str = PowerFormula.POINTS.value
    min_stake_lovelace: int = 0
    cap_percent: int | None = None
    snapshot_epoch: int | None = None


POLL_EVENTS = define_aggregate_events("polls.poll", PollState)


@dataclasses.dataclass(frozen=True, kw_only=True)
class CauseResult(EventData):
    cause_id: str
    title: str
    points: int
    voters: int
    payout_lovelace: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class PollResultState(EventData):
    """The final results of a poll (aggregate id = poll id), published once when polls
    finalizes it: what each cause received, and the digest the delegators check receipts
    against."""

    poll_id: str
    fund_lovelace: int
    causes: list[CauseResult]
    ballots: int
    receipts_digest: str | None
    finalized_at: str  # ISO 8601
    deleted: bool = False


RESULT_EVENTS = define_aggregate_events("polls.result", PollResultState)


class PayoutStatus(TextChoices):
    """`PayoutState.status`: where the check of one payout transaction stands."""

    PENDING = "pending", "pending (not yet seen, or too few confirmations)"
    CONFIRMED = "confirmed", "confirmed on chain"
    CONFIRMED_BY_HAND = "confirmed_by_hand", "confirmed by hand (not verified on chain)"
    MISMATCH = "mismatch", "on chain, but a cause is paid short or to another address"
    NOT_FOUND = "not_found", "never seen on chain"


@dataclasses.dataclass(frozen=True, kw_only=True)
class PayoutLine(EventData):
    """One cause paid by a transaction: what was expected, and what the chain showed."""

    cause_id: str
    address: str
    expected_lovelace: int
    found_lovelace: int | None  # None until the transaction was seen


@dataclasses.dataclass(frozen=True, kw_only=True)
class PayoutState(EventData):
    """One payout transaction recorded by the operator (aggregate id = the record's id); one
    transaction may pay several causes of the poll."""

    id: str
    poll_id: str
    tx_hash: str
    status: str  # a PayoutStatus value
    verified: bool  # False when confirmed by hand
    note: str
    lines: list[PayoutLine]
    confirmations: int
    explorer_url: str  # "" when no explorer URL template is configured
    recorded_at: str  # ISO 8601
    confirmed_at: str | None
    deleted: bool = False


PAYOUT_EVENTS = define_aggregate_events("polls.payout", PayoutState)
