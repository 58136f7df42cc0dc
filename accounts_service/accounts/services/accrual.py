"""Crediting points for every Cardano epoch, for every active delegator.

Each epoch is credited to an account once: a ledger entry unique per (account, epoch) is the
hard guarantee, and `accrued_through_epoch` makes finding who is owed one indexed query.
Accounts are processed in chunks locked with SKIP LOCKED, so two workers running at once split
the work instead of colliding, and a run that dies mid-way leaves whole chunks done or undone.
Missed epochs (the task did not run for a while) are caught up entry by entry.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shared_events.kit.epochs import epoch_at

from ..models import Account, LedgerEntry, Role


@dataclasses.dataclass
class AccrualReport:
    epoch: int
    accounts: int = 0
    entries: int = 0


def _owed(current: int):
    return Account.objects.filter(role=Role.DELEGATOR, is_active=True).filter(
        Q(accrued_through_epoch__lt=current) | Q(accrued_through_epoch__isnull=True))


def _credit_chunk(current: int, per_epoch: int, chunk: int) -> tuple[int, int]:
    with transaction.atomic():
        accounts = list(_owed(current).order_by("pk").select_for_update(skip_locked=True)[:chunk])
        if not accounts:
            return 0, 0
        entries = []
        for account in accounts:
            first = (account.accrued_through_epoch if account.accrued_through_epoch is not None
                     else epoch_at(account.date_joined)) + 1
            balance = account.points
            for epoch in range(first, current + 1):
                balance += per_epoch
                entries.append(LedgerEntry(
                    account=account, kind=LedgerEntry.Kind.EPOCH_ACCRUAL, delta=per_epoch,
                    balance_after=balance, epoch=epoch, reason=f"epoch {epoch}"))
            account.points = balance
            account.accrued_through_epoch = current
        LedgerEntry.objects.bulk_create(entries, batch_size=1000)
        # Guarded bulk update: one account event per credited account, in this transaction.
        Account.objects.bulk_update(accounts, ["points", "accrued_through_epoch"],
                                    batch_size=500)
        return len(accounts), len(entries)


def accrue_epoch_points(*, now: datetime | None = None, chunk: int = 1000) -> AccrualReport:
    current = epoch_at(now or timezone.now())
    report = AccrualReport(epoch=current)
    per_epoch = settings.POINTS_PER_EPOCH
    while True:
        accounts, entries = _credit_chunk(current, per_epoch, chunk)
        if not accounts:
            return report
        report.accounts += accounts
        report.entries += entries
