"""Reads of polls_service's data, one module per subject. Views, the admin and other callers
read through these; a lookup of one thing raises `NotFound` when it is not there (or not
visible to the caller), never an HTTP type."""

from .accounts import account_standing
from .causes import cause_get, cause_list
from .exports import results_csv
from .payouts import (
    CausePayout,
    cause_payouts,
    causes_paid,
    payout_get,
    payouts_of_poll,
)
from .polls import poll_get, poll_list, polls_unfinalized_past_close
from .results import (
    CauseResult,
    PollResults,
    ResultsHidden,
    poll_final_results,
    poll_results,
    poll_results_for_operator,
)

__all__ = [
    "CausePayout",
    "cause_payouts",
    "causes_paid",
    "payout_get",
    "payouts_of_poll",
    "CauseResult",
    "PollResults",
    "ResultsHidden",
    "account_standing",
    "cause_get",
    "cause_list",
    "poll_final_results",
    "poll_get",
    "poll_list",
    "poll_results",
    "poll_results_for_operator",
    "polls_unfinalized_past_close",
    "results_csv",
]
