"""Writes to causes. Causes are deactivated, never deleted, so past polls keep them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Cause, Poll, PollStatus

CAUSE_FIELDS = ("title", "description", "url", "image_url", "is_active", "payout_address")


def cause_check_deactivation(*, cause: Cause, is_active: bool) -> None:
    """A cause on offer in a scheduled or open poll stays active: voters may already have given
    it points, and a scheduled poll must keep only active causes to open."""
    if is_active or cause.pk is None:
        return
    poll = (
        Poll.objects.filter(
            poll_causes__cause=cause, status__in=(PollStatus.SCHEDULED, PollStatus.OPEN)
        )
        .order_by("opens_at")
        .first()
    )
    if poll is not None:
        hint = (
            "remove it from that poll first"
            if poll.status == PollStatus.SCHEDULED
            else "deactivate it after the poll closes"
        )
        raise ValidationError(
            {
                "is_active": [
                    f"“{cause.title}” is on offer in the {poll.status} poll “{poll.title}”: {hint}."
                ]
            }
        )


@transaction.atomic
def cause_create(
    *,
    title: str,
    description: str = "",
    url: str = "",
    image_url: str = "",
    is_active: bool = True,
    payout_address: str = "",
) -> Cause:
    cause = Cause(
        title=title,
        description=description,
        url=url,
        image_url=image_url,
        is_active=is_active,
        payout_address=payout_address.strip(),
    )
    cause.full_clean()
    cause.save()
    return cause


@transaction.atomic
def cause_update(*, cause: Cause, **changes) -> Cause:
    unknown = set(changes) - set(CAUSE_FIELDS)
    if unknown:
        raise TypeError(f"not cause fields: {sorted(unknown)}")
    # The row lock also orders this against scheduling a poll that offers the cause (which
    # locks its causes), so a cause cannot be deactivated while a poll is being scheduled.
    cause = Cause.objects.select_for_update().get(pk=cause.pk)
    if changes.get("is_active") is False and cause.is_active:
        cause_check_deactivation(cause=cause, is_active=False)
    if "payout_address" in changes:
        changes["payout_address"] = changes["payout_address"].strip()
    for name, value in changes.items():
        setattr(cause, name, value)
    cause.full_clean()
    cause.save()
    return cause
