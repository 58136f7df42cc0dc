"""Writes to polls_service's own data. Views, the admin, tasks and handlers call these; nothing
else saves a cause or a poll, so every rule and every event is in one place."""

from .accounts import accounts_apply_states
from .causes import CAUSE_FIELDS, cause_check_deactivation, cause_create, cause_update
from .payouts import (
    payout_apply_check,
    payout_confirm_by_hand,
    payout_record,
    payouts_check_pending,
    poll_mark_paid_if_complete,
)
from .polls import (
    POLL_FIELDS,
    poll_cancel,
    poll_check_changes,
    poll_close,
    poll_create,
    poll_schedule,
    poll_update,
)
from .power import POWER_FIELDS
from .results import TallyMismatch, poll_finalize_if_ready, tally_apply_state
from .schedule import polls_open_and_close_due

__all__ = [
    "CAUSE_FIELDS",
    "POLL_FIELDS",
    "POWER_FIELDS",
    "TallyMismatch",
    "accounts_apply_states",
    "cause_check_deactivation",
    "cause_create",
    "cause_update",
    "payout_apply_check",
    "payout_confirm_by_hand",
    "payout_record",
    "payouts_check_pending",
    "poll_cancel",
    "poll_check_changes",
    "poll_close",
    "poll_create",
    "poll_finalize_if_ready",
    "poll_mark_paid_if_complete",
    "poll_schedule",
    "poll_update",
    "polls_open_and_close_due",
    "tally_apply_state",
]
