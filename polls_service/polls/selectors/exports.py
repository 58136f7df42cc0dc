"""Final results as CSV, for operators paying the causes out."""

from __future__ import annotations

import io
from collections.abc import Iterable

from shared_events.kit.spreadsheet_csv import SpreadsheetSafeWriter

from ..models import Poll, lovelace_to_ada
from .results import poll_final_results

CSV_HEADER = ["poll_id", "poll", "cause_id", "cause", "points", "voters", "share",
              "payout_lovelace", "payout_ada"]


def results_csv(polls: Iterable[Poll]) -> str:
    """One row per cause of each finalized poll (others have no final results yet)."""
    out = io.StringIO()
    writer = SpreadsheetSafeWriter(out)  # no cell, a title above all, runs as a formula
    writer.writerow(CSV_HEADER)
    for poll in polls:
        for result in poll_final_results(poll=poll):
            ada = lovelace_to_ada(result.payout_lovelace)
            writer.writerow([poll.pk, poll.title, result.cause_id, result.cause.title,
                             result.points, result.voters, f"{result.share:f}",
                             result.payout_lovelace, f"{ada:f}"])
    return out.getvalue()
