"""Writes to voting_service's data, one module per subject."""

from ..allocations import AllocationIn
from .ballots import ballot_cast, ballot_retract
from .closing import polls_close_due
from .payouts import payout_apply_state, poll_result_apply_state
from .power import PowerAnswer, power_freeze_if_ready, powers_freeze_due, voter_power_in_poll
from .replicas import (
    cause_apply_state,
    epoch_stake_apply_part,
    poll_apply_state,
    voters_apply_account_states,
)
from .tallies import tallies_refresh_open, tally_finalize, tally_refresh
from .tally_totals import tally_totals_advance

__all__ = [
    "AllocationIn",
    "PowerAnswer",
    "ballot_cast",
    "ballot_retract",
    "cause_apply_state",
    "epoch_stake_apply_part",
    "payout_apply_state",
    "poll_apply_state",
    "poll_result_apply_state",
    "polls_close_due",
    "power_freeze_if_ready",
    "powers_freeze_due",
    "tallies_refresh_open",
    "tally_finalize",
    "tally_refresh",
    "tally_totals_advance",
    "voter_power_in_poll",
    "voters_apply_account_states",
]
