"""Reads of accounts: one by id, and the operators' list."""

from __future__ import annotations

import uuid

from django.db.models import Min, Q, QuerySet

from shared_events.kit.errors import NotFound

from ..models import Account, Role


def account_get(*, account_id: uuid.UUID | str) -> Account:
    """The account with this id; NotFound (a 404) when there is none."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        # Worded as Django's get_object_or_404 words it, the answer clients already know.
        raise NotFound("No Account matches the given query.")
    return account


def account_list(
    *, role: str | None = None, is_active: bool | None = None, search: str | None = None
) -> QuerySet[Account]:
    qs = Account.objects.all().order_by("date_joined", "id")
    if role:
        qs = qs.filter(role=role)
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    if search:
        qs = qs.filter(Q(email__icontains=search) | Q(stake_address__icontains=search))
    return qs


def accrual_last_epoch() -> int | None:
    """The epoch every active delegator's points are credited through: the accrual's progress
    (a registration starts at its own epoch, so the newest would say nothing). None with no
    delegator."""
    delegators = Account.objects.filter(role=Role.DELEGATOR, is_active=True)
    return delegators.aggregate(through=Min("accrued_through_epoch"))["through"]
