"""Reads of polls_service's data."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Cause


def cause_list(*, include_inactive: bool = False) -> QuerySet[Cause]:
    qs = Cause.objects.all().order_by("title", "id")
    return qs if include_inactive else qs.filter(is_active=True)
