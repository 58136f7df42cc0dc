"""Reads of voting_service's data, one module per subject."""

from .ballots import ballot_get, ballots_of_voter, polls_voted_in
from .payouts import poll_payouts_per_cause
from .polls import (
    PollCause,
    cause_titles,
    poll_causes,
    polls_open,
    polls_past,
    takes_ballots_now,
)
from .receipts import (
    HistoryEntry,
    ReceiptCheck,
    ReceiptStatus,
    counted_receipts,
    history_of_voter,
    receipt_check,
    revision_status,
    revisions_of_ballot,
)
from .replicas import poll_get, voter_get
from .tallies import (
    TallyResult,
    counted_ballots,
    final_tally,
    tally_compute,
    tally_for_display,
    tally_recount,
)

__all__ = [
    "HistoryEntry",
    "PollCause",
    "ReceiptCheck",
    "ReceiptStatus",
    "TallyResult",
    "ballot_get",
    "ballots_of_voter",
    "cause_titles",
    "counted_ballots",
    "counted_receipts",
    "final_tally",
    "history_of_voter",
    "poll_causes",
    "poll_get",
    "polls_open",
    "polls_past",
    "polls_voted_in",
    "poll_payouts_per_cause",
    "receipt_check",
    "revision_status",
    "revisions_of_ballot",
    "tally_compute",
    "tally_for_display",
    "tally_recount",
    "takes_ballots_now",
    "voter_get",
]
