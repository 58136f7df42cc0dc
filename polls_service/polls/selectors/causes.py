"""Reads of causes."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from shared_events.kit.errors import NotFound

from ..models import Cause


def cause_list(*, include_inactive: bool = False) -> QuerySet[Cause]:
    qs = Cause.objects.all().order_by("title", "id")
    return qs if include_inactive else qs.filter(is_active=True)


def cause_get(*, cause_id: uuid.UUID) -> Cause:
    """The cause, active or not (a past poll still names it). Raises NotFound."""
    cause = Cause.objects.filter(pk=cause_id).first()
    if cause is None:
        # The wording the API has always answered with (Django's get_object_or_404's).
        raise NotFound("No Cause matches the given query.")
    return cause
