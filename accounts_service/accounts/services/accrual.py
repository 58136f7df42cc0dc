"""Crediting points for every Cardano epoch.

Open mode (`shared_events.kit.chain_mode`): every active delegator earns every epoch. Chain
mode: an active delegator earns an epoch only if their proven stake address is in that epoch's
stored stake distribution (the address they hold when the epoch is credited). An epoch of the
loyalty window that is not stored yet is waited for, never guessed: accrual stops before it and
credits it once the sync (or a file) has stored it. An epoch older than the window that is not
stored will never be (the sync does not look that far back), so it earns nothing and is passed.

Each epoch is credited to an account once: a ledger entry unique per (account, epoch) is the
hard guarantee, and `accrued_through_epoch` makes finding who is owed a scan of the owed
accounts alone (`models.ACCRUED_THROUGH`, index `account_owed_idx`).
Accounts are processed in chunks locked with SKIP LOCKED, so two workers running at once split
the work instead of colliding, and a run that dies mid-way leaves whole chunks done or undone.
Missed epochs (the task did not run for a while) are caught up entry by entry.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shared_events.kit.chain_mode import open_eligibility
from shared_events.kit.epochs import epoch_at

from ..models import ACCRUED_THROUGH, Account, EpochStake, EpochStakeImport, LedgerEntry, Role
from ..selectors.stake_history import loyalty_window_start


@dataclasses.dataclass
class AccrualReport:
    epoch: int  # accounts are credited through this epoch
    accounts: int = 0  # accounts credited at least one epoch
    entries: int = 0


def _owed(current: int):
    """Active delegators not credited through `current`, in the order of `account_owed_idx`:
    a scan of the owed accounts alone, never of those credited already."""
    return (
        Account.objects.filter(role=Role.DELEGATOR, is_active=True)
        .alias(accrued_through=ACCRUED_THROUGH)
        .filter(accrued_through__lt=current)
        .order_by("accrued_through", "pk")
    )


def _first_owed(account: Account) -> int:
    return (
        account.accrued_through_epoch
        if account.accrued_through_epoch is not None
        else epoch_at(account.date_joined)
    ) + 1


def _credit_chunk(current: int, per_epoch: int, chunk: int) -> tuple[int, int]:
    with transaction.atomic():
        accounts = list(_owed(current).select_for_update(skip_locked=True)[:chunk])
        if not accounts:
            return 0, 0
        entries = []
        for account in accounts:
            first = _first_owed(account)
            balance = account.points
            for epoch in range(first, current + 1):
                balance += per_epoch
                entries.append(
                    LedgerEntry(
                        account=account,
                        kind=LedgerEntry.Kind.EPOCH_ACCRUAL,
                        delta=per_epoch,
                        balance_after=balance,
                        epoch=epoch,
                        reason=f"epoch {epoch}",
                    )
                )
            account.points = balance
            account.accrued_through_epoch = current
        LedgerEntry.objects.bulk_create(entries, batch_size=1000)
        # Guarded bulk update: one account event per credited account, in this transaction.
        Account.objects.bulk_update(accounts, ["points", "accrued_through_epoch"], batch_size=500)
        return len(accounts), len(entries)


def _stored_through(current: int) -> int:
    """The newest epoch up to `current` before which no epoch of the loyalty window is
    missing: chain-mode accrual credits through it and waits for the rest."""
    start = loyalty_window_start(current)
    stored = set(
        EpochStakeImport.objects.filter(epoch__gte=start, epoch__lte=current).values_list(
            "epoch", flat=True
        )
    )
    through = start - 1
    while through < current and through + 1 in stored:
        through += 1
    return through


def _credit_chunk_from_chain(through: int, per_epoch: int, chunk: int) -> tuple[int, int, int]:
    """(accounts processed, accounts credited, entries)."""
    with transaction.atomic():
        accounts = list(_owed(through).select_for_update(skip_locked=True)[:chunk])
        if not accounts:
            return 0, 0, 0
        first = {account.pk: _first_owed(account) for account in accounts}
        addresses = {a.stake_address for a in accounts if a.has_proven_stake_address}
        delegated: dict[str, list[int]] = defaultdict(list)
        for epoch, address in (
            EpochStake.objects.filter(
                stake_address__in=addresses,
                epoch_id__gte=min(first.values()),
                epoch_id__lte=through,
            )
            .order_by("epoch_id")
            .values_list("epoch_id", "stake_address")
        ):
            delegated[address].append(epoch)
        entries: list[LedgerEntry] = []
        credited: list[Account] = []
        passed: dict[int, list] = defaultdict(list)  # watermark -> accounts that earned nothing
        for account in accounts:
            address = account.stake_address if account.has_proven_stake_address else None
            balance = account.points
            earned = [e for e in delegated.get(address or "", ()) if e >= first[account.pk]]
            for epoch in earned:
                balance += per_epoch
                entries.append(
                    LedgerEntry(
                        account=account,
                        kind=LedgerEntry.Kind.EPOCH_ACCRUAL,
                        delta=per_epoch,
                        balance_after=balance,
                        epoch=epoch,
                        reason=f"epoch {epoch}: {address} delegated to the pool",
                    )
                )
            account.points = balance
            # Never behind the epoch it joined in (an account from before the watermark).
            watermark = max(through, first[account.pk] - 1)
            account.accrued_through_epoch = watermark
            if earned:
                credited.append(account)
            else:
                passed[watermark].append(account.pk)
        LedgerEntry.objects.bulk_create(entries, batch_size=1000)
        # One account event per credited account; the watermark of the others is not published.
        Account.objects.bulk_update(credited, ["points", "accrued_through_epoch"], batch_size=500)
        for watermark, pks in passed.items():
            Account.objects.filter(pk__in=pks).update(accrued_through_epoch=watermark)
        return len(accounts), len(credited), len(entries)


def accrue_epoch_points(*, now: datetime | None = None, chunk: int = 1000) -> AccrualReport:
    current = epoch_at(now or timezone.now())
    per_epoch = settings.POINTS_PER_EPOCH
    if open_eligibility():
        report = AccrualReport(epoch=current)
        while True:
            accounts, entries = _credit_chunk(current, per_epoch, chunk)
            if not accounts:
                return report
            report.accounts += accounts
            report.entries += entries
    report = AccrualReport(epoch=_stored_through(current))
    while True:
        processed, credited, entries = _credit_chunk_from_chain(report.epoch, per_epoch, chunk)
        if not processed:
            return report
        report.accounts += credited
        report.entries += entries
