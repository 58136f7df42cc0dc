"""Tallies, always computed from the current allocations.

There are no counter rows that each ballot bumps: under concurrent voting such a row would be
one hot lock every ballot of a poll queues on. An aggregate over an index is cheap enough to
run for every open poll once a second, and it cannot drift from the ballots.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, Subquery, Sum
from django.utils import timezone

from ..digest import ballots_digest
from ..models import Allocation, PollReplica, PollTally


@dataclasses.dataclass(frozen=True)
class TallyResult:
    poll_id: uuid.UUID
    causes: list[dict]  # [{"cause_id": str, "points": int, "voters": int}], poll order first
    ballots: int
    total_points: int
    computed_at: datetime
    final: bool = False
    ballots_digest: str | None = None

    def same_counts(self, tally: PollTally) -> bool:
        return (self.causes, self.ballots, self.total_points) == (
            tally.causes, tally.ballots, tally.total_points)


def _ordered_causes(poll: PollReplica, counts: dict[str, tuple[int, int]]) -> list[dict]:
    """The poll's causes in display order (zeros included), then any cause that has points but
    is no longer in the poll (removed while ballots named it), by id: a tally hides nothing."""
    listed = [str(c) for c in poll.causes]
    extra = sorted(set(counts) - set(listed))
    return [{"cause_id": c, "points": counts.get(c, (0, 0))[0], "voters": counts.get(c, (0, 0))[1]}
            for c in [*listed, *extra]]


def tally_compute(*, poll: PollReplica) -> TallyResult:
    """The live tally: points and voters per cause, ballots counted, total points.

    One statement, so the per-cause sums and the ballot count come from the same snapshot even
    while ballots commit beside it."""
    counted = Allocation.objects.filter(poll=poll, points__gt=0)
    ballots = (counted.order_by().values("poll")
               .annotate(n=Count("ballot_id", distinct=True)).values("n"))
    rows = (counted.order_by().values("cause_id")
            .annotate(points=Sum("points"), voters=Count("id"), ballots=Subquery(ballots)))
    counts: dict[str, tuple[int, int]] = {}
    n_ballots = 0
    for row in rows:
        counts[str(row["cause_id"])] = (int(row["points"]), int(row["voters"]))
        n_ballots = int(row["ballots"])
    return TallyResult(
        poll_id=poll.pk, causes=_ordered_causes(poll, counts), ballots=n_ballots,
        total_points=sum(p for p, _ in counts.values()), computed_at=timezone.now())


def counted_ballots(*, poll: PollReplica) -> dict[uuid.UUID, list[tuple[uuid.UUID, int]]]:
    """Voter id -> (cause id, points) of every current ballot of the poll, zeros left out: what
    the final tally counts and digests (one query, one snapshot)."""
    ballots: dict[uuid.UUID, list[tuple[uuid.UUID, int]]] = defaultdict(list)
    rows: Iterable[tuple[uuid.UUID, uuid.UUID, int]] = (
        Allocation.objects.filter(poll=poll, points__gt=0)
        .order_by().values_list("ballot__voter_id", "cause_id", "points")
    )
    for voter_id, cause_id, points in rows:
        ballots[voter_id].append((cause_id, int(points)))
    return dict(ballots)


def tally_recount(*, poll: PollReplica) -> TallyResult:
    """The final tally: counted from the listing of the ballots themselves, with the digest of
    exactly that listing (format in `voting.digest`)."""
    ballots = counted_ballots(poll=poll)
    points: dict[str, int] = defaultdict(int)
    voters: dict[str, int] = defaultdict(int)
    for allocations in ballots.values():
        for cause_id, p in allocations:
            points[str(cause_id)] += p
            voters[str(cause_id)] += 1
    counts = {c: (points[c], voters[c]) for c in points}
    return TallyResult(
        poll_id=poll.pk, causes=_ordered_causes(poll, counts), ballots=len(ballots),
        total_points=sum(points.values()), computed_at=timezone.now(), final=True,
        ballots_digest=ballots_digest(poll_id=poll.pk, ballots=ballots))


def tally_for_display(*, poll: PollReplica) -> TallyResult | PollTally:
    """The final tally once there is one (it never changes), the live count before."""
    final = PollTally.objects.filter(pk=poll.pk, final=True).first()
    return final if final is not None else tally_compute(poll=poll)
