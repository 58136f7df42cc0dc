"""How a poll's participation grew over time, for the operators' chart."""

from __future__ import annotations

from datetime import datetime

from ..models import BallotRevision, PollReplica


def participation_over_time(*, poll: PollReplica) -> list[tuple[datetime, int]]:
    """(moment, ballots standing then) at every first cast and retraction, in time order.
    A retracted ballot cast again counts again when it is cast again."""
    steps: list[tuple[datetime, int]] = []
    standing = 0
    events = (
        BallotRevision.objects.filter(ballot__poll=poll)
        .order_by("created_at", "id")
        .values_list("created_at", "kind", "ballot_id")
    )
    counted: set = set()
    for moment, kind, ballot_id in events.iterator(chunk_size=5000):
        if kind == BallotRevision.Kind.RETRACT:
            if ballot_id in counted:
                counted.discard(ballot_id)
                standing -= 1
        elif ballot_id not in counted:
            counted.add(ballot_id)
            standing += 1
        else:
            continue  # a re-vote changes no count
        steps.append((moment, standing))
    return steps
