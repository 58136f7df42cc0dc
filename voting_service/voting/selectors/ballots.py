"""Reads of ballots."""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, QuerySet

from ..models import Allocation, Ballot, PollStatus


def _with_allocations(qs: QuerySet[Ballot]) -> QuerySet[Ballot]:
    """Each ballot with its poll and `current_allocations`, a list in position order (as
    `services.ballot_cast` returns a ballot)."""
    return qs.select_related("poll").prefetch_related(
        Prefetch(
            "allocations",
            queryset=Allocation.objects.order_by("position"),
            to_attr="current_allocations",
        )
    )


def ballot_get(*, voter_id: uuid.UUID, poll_id: uuid.UUID) -> Ballot | None:
    """The voter's ballot in this poll, retracted or not."""
    return _with_allocations(Ballot.objects.filter(voter_id=voter_id, poll_id=poll_id)).first()


def ballots_of_voter(*, voter_id: uuid.UUID) -> QuerySet[Ballot]:
    """Every ballot of the voter, retracted ones included (their history counts), most recently
    changed first."""
    return _with_allocations(
        Ballot.objects.filter(voter_id=voter_id).exclude(poll__status=PollStatus.DRAFT)
    ).order_by("-updated_at", "id")


def polls_voted_in(*, voter_id: uuid.UUID, poll_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these polls the voter has a current (not retracted) ballot in."""
    return set(
        Ballot.objects.filter(
            voter_id=voter_id, poll_id__in=poll_ids, retracted_at__isnull=True
        ).values_list("poll_id", flat=True)
    )
