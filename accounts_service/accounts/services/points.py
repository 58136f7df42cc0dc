"""Operators' corrections of an account's points, each a ledger entry."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Account, LedgerEntry


@transaction.atomic
def points_adjust(*, account: Account, delta: int, reason: str, by: Account | None) -> LedgerEntry:
    """An operator's correction of an account's points: a ledger entry and the new balance,
    in one transaction (and so one outbox event)."""
    if delta == 0:
        raise ValidationError({"delta": ["A change of 0 points changes nothing."]})
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the points change."]})
    account = Account.objects.select_for_update().get(pk=account.pk)
    balance = account.points + delta
    if balance < 0:
        raise ValidationError(
            {"delta": [f"The account has {account.points} points; it cannot go below 0."]}
        )
    account.points = balance
    account.save(update_fields=["points", "updated_at"])
    return LedgerEntry.objects.create(
        account=account,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        delta=delta,
        balance_after=balance,
        reason=reason.strip(),
        created_by=by,
    )
