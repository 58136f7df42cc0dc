"""Final results as CSV, for operators paying the causes out."""

from __future__ import annotations

import io
from collections.abc import Iterable

from shared_events.kit.spreadsheet_csv import SpreadsheetSafeWriter

from ..models import Poll, lovelace_to_ada
from .results import poll_final_results

# The poll's voting power last, repeated on each of its rows: the columns before keep their
# places for scripts that read them by position.
CSV_HEADER = [
    "poll_id",
    "poll",
    "cause_id",
    "cause",
    "points",
    "voters",
    "share",
    "payout_lovelace",
    "payout_ada",
    "power_formula",
    "snapshot_epoch",
    "eligible",
    "total_power",
]


def _blank_if_none(value: int | None) -> int | str:
    return "" if value is None else value


def results_csv(polls: Iterable[Poll]) -> str:
    """One row per cause of each finalized poll (others have no final results yet)."""
    out = io.StringIO()
    writer = SpreadsheetSafeWriter(out)  # no cell, a title above all, runs as a formula
    writer.writerow(CSV_HEADER)
    for poll in polls:
        power = [
            poll.power_formula,
            _blank_if_none(poll.snapshot_epoch),
            _blank_if_none(poll.eligible_voters),
            _blank_if_none(poll.total_power),
        ]
        for result in poll_final_results(poll=poll):
            ada = lovelace_to_ada(result.payout_lovelace)
            writer.writerow(
                [
                    poll.pk,
                    poll.title,
                    result.cause_id,
                    result.cause.title,
                    result.points,
                    result.voters,
                    f"{result.share:f}",
                    result.payout_lovelace,
                    f"{ada:f}",
                    *power,
                ]
            )
    return out.getvalue()
