"""Writes to voting_service's data, one module per subject."""

from ..allocations import AllocationIn
from .ballots import ballot_cast, ballot_retract
from .closing import polls_close_due
from .replicas import (
    cause_apply_state,
    poll_apply_state,
    voters_apply_account_states,
)
from .tallies import tallies_refresh_open, tally_finalize, tally_refresh

__all__ = [
    "AllocationIn",
    "ballot_cast",
    "ballot_retract",
    "cause_apply_state",
    "poll_apply_state",
    "polls_close_due",
    "tallies_refresh_open",
    "tally_finalize",
    "tally_refresh",
    "voters_apply_account_states",
]
