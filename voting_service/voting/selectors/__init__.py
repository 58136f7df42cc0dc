"""Reads of voting_service's data, one module per subject."""

from .ballots import ballot_get, ballots_of_voter
from .payouts import poll_payouts_per_cause
from .receipts import (
    ReceiptCheck,
    ReceiptStatus,
    counted_receipts,
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
    "ReceiptCheck",
    "ReceiptStatus",
    "TallyResult",
    "ballot_get",
    "ballots_of_voter",
    "counted_ballots",
    "counted_receipts",
    "final_tally",
    "poll_get",
    "poll_payouts_per_cause",
    "receipt_check",
    "revision_status",
    "revisions_of_ballot",
    "tally_compute",
    "tally_for_display",
    "tally_recount",
    "voter_get",
]
