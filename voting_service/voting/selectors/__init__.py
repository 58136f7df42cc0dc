"""Reads of voting_service's data, one module per subject."""

from .ballots import ballot_get, ballots_of_voter
from .replicas import poll_get, voter_get
from .tallies import TallyResult, counted_ballots, tally_compute, tally_for_display, tally_recount

__all__ = [
    "TallyResult",
    "ballot_get",
    "ballots_of_voter",
    "counted_ballots",
    "poll_get",
    "tally_compute",
    "tally_for_display",
    "tally_recount",
    "voter_get",
]
