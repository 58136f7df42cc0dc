"""Final results as CSV, for operators paying the causes out."""

from __future__ import annotations

import io
from collections.abc import Iterable

from shared_events.kit.spreadsheet_csv import SpreadsheetSafeWriter

from ..models import Poll, lovelace_to_ada
from .payouts import cause_payouts
from .results import poll_final_results

# The poll's voting power, repeated on each of its rows, then the cause's payout transaction:
# columns are only ever added at the end, so scripts that read them by position keep working.
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
    "payout_status",
    "payout_tx_hash",
    "payout_explorer_url",
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
        payouts = cause_payouts(poll=poll)
        for result in poll_final_results(poll=poll):
            ada = lovelace_to_ada(result.payout_lovelace)
            payout = payouts.get(result.cause_id)
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
                    payout.status if payout else "",
                    payout.tx_hash if payout else "",
                    payout.explorer_url if payout else "",
                ]
            )
    return out.getvalue()
