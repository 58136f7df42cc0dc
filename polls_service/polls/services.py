"""Writes to polls_service's own data."""

from __future__ import annotations

from django.db import transaction

from .models import Cause

CAUSE_FIELDS = ("title", "description", "url", "image_url", "is_active")


@transaction.atomic
def cause_create(*, title: str, description: str = "", url: str = "", image_url: str = "",
                 is_active: bool = True) -> Cause:
    cause = Cause(title=title, description=description, url=url, image_url=image_url,
                  is_active=is_active)
    cause.full_clean()
    cause.save()
    return cause


@transaction.atomic
def cause_update(*, cause: Cause, **changes) -> Cause:
    unknown = set(changes) - set(CAUSE_FIELDS)
    if unknown:
        raise TypeError(f"not cause fields: {sorted(unknown)}")
    cause = Cause.objects.select_for_update().get(pk=cause.pk)
    for name, value in changes.items():
        setattr(cause, name, value)
    cause.full_clean()
    cause.save()
    return cause
