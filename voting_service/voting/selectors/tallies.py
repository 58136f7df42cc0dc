"""Tallies: live from the running totals, final from the ballots themselves.

There are no counter rows that each ballot bumps: under concurrent voting such a row would be
one hot lock every ballot of a poll queues on. The tally task advances per-poll running totals
from the revisions written since its last pass (`services.tally_totals`), so a live tally costs
one row however many ballots a poll has; the final tally is counted from the current
allocations, and equals the totals (tests/services/test_tallies.py).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from ..digest import ballots_digest
from ..models import Allocation, PollReplica, PollTally, PollTallyTotals
from ..receipts import receipts_digest


@dataclasses.dataclass(frozen=True)
class TallyResult:
    poll_id: uuid.UUID
    causes: list[dict]  # [{"cause_id": str, "points": int, "voters": int}], poll order first
    ballots: int
    total_points: int
    computed_at: datetime
    final: bool = False
    ballots_digest: str | None = None
    receipts_digest: str | None = None

    def same_counts(self, tally: PollTally) -> bool:
        return (self.causes, self.ballots, self.total_points) == (
            tally.causes,
            tally.ballots,
            tally.total_points,
        )


def _ordered_causes(poll: PollReplica, counts: dict[str, tuple[int, int]]) -> list[dict]:
    """The poll's causes in display order (zeros included), then any cause that has points but
    is no longer in the poll (removed while ballots named it), by id: a tally hides nothing."""
    listed = [str(c) for c in poll.causes]
    extra = sorted(set(counts) - set(listed))
    return [
        {"cause_id": c, "points": counts.get(c, (0, 0))[0], "voters": counts.get(c, (0, 0))[1]}
        for c in [*listed, *extra]
    ]


def tally_compute(*, poll: PollReplica) -> TallyResult:
    """The live tally: points and voters per cause, ballots counted, total points, as of the
    revisions the running totals have counted (`services.tally_totals`): one row, however
    many ballots the poll has."""
    totals = PollTallyTotals.objects.filter(pk=poll.pk).first()
    counts: dict[str, tuple[int, int]] = {}
    if totals is not None:
        counts = {c: (int(p), int(v)) for c, (p, v) in totals.causes.items()}
    return TallyResult(
        poll_id=poll.pk,
        causes=_ordered_causes(poll, counts),
        ballots=totals.ballots if totals is not None else 0,
        total_points=sum(p for p, _ in counts.values()),
        computed_at=timezone.now(),
    )


@dataclasses.dataclass(frozen=True)
class CountedBallots:
    allocations: dict[uuid.UUID, list[tuple[uuid.UUID, int]]]  # voter id -> (cause, points)
    receipts: set[str]  # the receipt of each counted ballot's latest revision


def counted_ballots(*, poll: PollReplica) -> CountedBallots:
    """(cause id, points) per voter of every current ballot of the poll, zeros left out, and
    those ballots' receipts: what the final tally counts and digests (one query, one
    snapshot)."""
    ballots: dict[uuid.UUID, list[tuple[uuid.UUID, int]]] = defaultdict(list)
    receipts: set[str] = set()
    rows: Iterable[tuple[uuid.UUID, str, uuid.UUID, int]] = (
        Allocation.objects.filter(poll=poll, points__gt=0)
        .order_by()
        .values_list("ballot__voter_id", "ballot__receipt", "cause_id", "points")
    )
    for voter_id, receipt, cause_id, points in rows:
        ballots[voter_id].append((cause_id, int(points)))
        receipts.add(receipt)
    return CountedBallots(allocations=dict(ballots), receipts=receipts)


def tally_recount(*, poll: PollReplica) -> TallyResult:
    """The final tally: counted from the listing of the ballots themselves, with the digests of
    exactly that listing and of those ballots' receipts (formats in `voting.digest` and
    `voting.receipts`)."""
    counted = counted_ballots(poll=poll)
    ballots = counted.allocations
    points: dict[str, int] = defaultdict(int)
    voters: dict[str, int] = defaultdict(int)
    for allocations in ballots.values():
        for cause_id, p in allocations:
            points[str(cause_id)] += p
            voters[str(cause_id)] += 1
    counts = {c: (points[c], voters[c]) for c in points}
    return TallyResult(
        poll_id=poll.pk,
        causes=_ordered_causes(poll, counts),
        ballots=len(ballots),
        total_points=sum(points.values()),
        computed_at=timezone.now(),
        final=True,
        ballots_digest=ballots_digest(poll_id=poll.pk, ballots=ballots),
        receipts_digest=receipts_digest(poll_id=poll.pk, receipts=counted.receipts),
    )


def final_tally(*, poll: PollReplica) -> PollTally | None:
    return PollTally.objects.filter(pk=poll.pk, final=True).first()


def tally_for_display(*, poll: PollReplica) -> TallyResult | PollTally:
    """The tally last published, final or live (the tally task refreshes it about once a
    second), so a read is one row whatever the number of ballots; the running totals before
    the first one."""
    published = PollTally.objects.filter(pk=poll.pk).first()
    return published if published is not None else tally_compute(poll=poll)
