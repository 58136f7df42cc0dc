"""Reads of polls with the causes they offer. Drafts are the operators' work in progress: only
they see them."""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, QuerySet

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
