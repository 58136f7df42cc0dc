"""Reads of polls with the causes they offer. Drafts are the operators' work in progress: only
they see them."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Count, Min, Prefetch, QuerySet

from shared_events.kit.errors import NotFound

from ..models import Poll, PollCause, PollStatus


def poll_list(*, include_drafts: bool, status: str | None = None) -> QuerySet[Poll]:
    """Polls, newest opening first, with their causes in display order."""
    qs = Poll.objects.prefetch_related(
        Prefetch(
            "poll_causes", queryset=PollCause.objects.select_related("cause").order_by("position")
        )
    ).order_by("-opens_at", "-created_at", "id")
    if not include_drafts:
        qs = qs.exclude(status=PollStatus.DRAFT)
    if status is not None:
        qs = qs.filter(status=status)
    return qs


def poll_get(*, poll_id: uuid.UUID, include_drafts: bool) -> Poll:
    """One poll with its causes. Raises NotFound, for a draft too unless `include_drafts`: a
    delegator is not told that a draft exists."""
    poll = poll_list(include_drafts=include_drafts).filter(pk=poll_id).first()
    if poll is None:
        # The wording the API has always answered with (Django's get_object_or_404's).
        raise NotFound("No Poll matches the given query.")
    return poll


# Past closes_at and not final yet: closing, closing early, or waiting for voting's tally.
UNFINALIZED_STATUSES = (PollStatus.OPEN, PollStatus.CLOSING, PollStatus.CLOSED)


def polls_unfinalized_past_close(*, now: datetime) -> tuple[int, float]:
    """How many polls are past their closes_at and not finalized, and the seconds since the
    closes_at of the oldest of them (0 when none): what the finalization alert watches."""
    found = Poll.objects.filter(status__in=UNFINALIZED_STATUSES, closes_at__lt=now).aggregate(
        count=Count("id"), oldest=Min("closes_at")
    )
    oldest = found["oldest"]
    return found["count"], (now - oldest).total_seconds() if oldest is not None else 0.0
