"""Reads of the points ledger."""

from __future__ import annotations

from django.db.models import QuerySet

from ..models import Account, LedgerEntry


def ledger_for(*, account: Account) -> QuerySet[LedgerEntry]:
    """An account's entries, newest first."""
    return LedgerEntry.objects.filter(account=account).order_by("-created_at", "-id")
