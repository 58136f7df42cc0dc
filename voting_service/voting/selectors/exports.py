"""Ballots as CSV for operators, with pseudonymous voter ids.

A pseudonym is a keyed hash of the poll and the voter: the same voter reads the same within one
poll (so re-votes and the tally can be audited) and differently in every other poll (so exports
of two polls cannot be joined); only this service, holding SECRET_KEY, could link it back."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable

from django.utils.crypto import salted_hmac

from shared_events.kit.spreadsheet_csv import SpreadsheetSafeWriter

from ..models import Allocation, CauseReplica, PollReplica

CSV_HEADER = ["poll_id", "poll", "voter", "cause_id", "cause", "points", "revision", "changed_at"]


def voter_pseudonym(*, poll_id: uuid.UUID | str, voter_id: uuid.UUID | str) -> str:
    return salted_hmac(
        "voting.exports.voter", f"{poll_id}:{voter_id}", algorithm="sha256"
    ).hexdigest()[:20]


def ballots_csv(polls: Iterable[PollReplica]) -> str:
    """One row per allocation of every current (not retracted) ballot of each poll."""
    out = io.StringIO()
    writer = SpreadsheetSafeWriter(out)  # no cell, a title above all, runs as a formula
    writer.writerow(CSV_HEADER)
    titles = dict(CauseReplica.objects.values_list("id", "title"))
    for poll in polls:
        allocations = (
            Allocation.objects.filter(poll=poll, ballot__retracted_at__isnull=True)
            .select_related("ballot")
            .order_by("ballot__voter_id", "position")
        )
        for allocation in allocations.iterator(chunk_size=2000):
            ballot = allocation.ballot
            writer.writerow(
                [
                    poll.pk,
                    poll.title,
                    voter_pseudonym(poll_id=poll.pk, voter_id=ballot.voter_id),
                    allocation.cause_id,
                    titles.get(allocation.cause_id, ""),
                    allocation.points,
                    ballot.revision,
                    ballot.updated_at.isoformat(),
                ]
            )
    return out.getvalue()
