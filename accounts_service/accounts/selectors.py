"""Reads of accounts."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .models import Account, LedgerEntry


def account_list(*, role: str | None = None, is_active: bool | None = None,
                 search: str | None = None) -> QuerySet[Account]:
    qs = Account.objects.all().order_by("date_joined", "id")
    if role:
        qs = qs.filter(role=role)
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    if search:
        qs = qs.filter(Q(email__icontains=search) | Q(stake_address__icontains=search))
    return qs


def ledger_for(*, account: Account) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(account=account).order_by("-created_at", "-id")
