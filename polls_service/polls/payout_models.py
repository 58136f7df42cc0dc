"""Payout transactions the operator recorded for a finalized poll, and the causes each pays.

Imported by `models` (so Django sees them as polls' models); kept apart because they are a
subject of their own. Written only through `services.payouts`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from shared_events.core.outbox.published import PublishedModel, PublishedQuerySet
from shared_events.core.schemas.polls import PayoutLine as PayoutLineState
from shared_events.core.schemas.polls import PayoutState, PayoutStatus
from shared_events.kit.errors import Conflict

from .models import Cause, Poll, _iso_utc

# After these a record never changes: what the chain showed deep enough, or the operator's word.
SETTLED_STATUSES = frozenset(
    {
        PayoutStatus.CONFIRMED,
        PayoutStatus.CONFIRMED_BY_HAND,
        PayoutStatus.MISMATCH,
        PayoutStatus.NOT_FOUND,
    }
)
# A cause counts as paid by a line of a record in one of these (see `PayoutLine.pays`).
PAYING_STATUSES = frozenset(
    {PayoutStatus.CONFIRMED, PayoutStatus.CONFIRMED_BY_HAND, PayoutStatus.MISMATCH}
)


def explorer_url(tx_hash: str) -> str:
    """The link to the transaction (PAYOUT_EXPLORER_URL), or "" when none is configured."""
    template = settings.PAYOUT_EXPLORER_URL
    return template.replace("{tx_hash}", tx_hash) if template else ""


class PayoutSettled(Conflict):
    """A confirmed (or otherwise settled) payout record is history: it does not change."""


class PayoutQuerySet(PublishedQuerySet):
    """Bulk writes may not touch a settled record either."""

    def _refuse_settled(self) -> None:
        if self.filter(status__in=SETTLED_STATUSES).exists():
            raise PayoutSettled("settled payout records do not change")

    def update(self, **kwargs: Any) -> int:
        self._refuse_settled()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._refuse_settled()
        return super().delete()

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        objs = list(objs)
        pks = [o.pk for o in objs]
        if self.model.objects.filter(pk__in=pks, status__in=SETTLED_STATUSES).exists():
            raise PayoutSettled("settled payout records do not change")
        return super().bulk_update(objs, fields, *args, **kwargs)


class Payout(PublishedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    poll = models.ForeignKey(Poll, on_delete=models.PROTECT, related_name="payouts")
    tx_hash = models.CharField(max_length=64, help_text="the transaction id: 64 hexadecimal digits")
    status = models.CharField(
        max_length=24, choices=PayoutStatus.choices, default=PayoutStatus.PENDING, db_index=True
    )
    verified = models.BooleanField(
        default=True, help_text="false when the operator confirmed it by hand (not on chain)"
    )
    note = models.TextField(blank=True, help_text="the operator's, when confirmed by hand")
    confirmations = models.PositiveIntegerField(default=0)
    # What the last check found, in words (confirmations so far, a source that failed, which
    # cause was paid short); "" when nothing needs saying.
    finding = models.TextField(blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.UUIDField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    objects = models.Manager.from_queryset(PayoutQuerySet)()

    event_aggregate = "polls.payout"
    published_fields = frozenset(
        {"tx_hash", "status", "verified", "note", "confirmations", "confirmed_at"}
    )

    class Meta(PublishedModel.Meta):
        ordering = ["poll_id", "recorded_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tx_hash__regex=r"^[0-9a-f]{64}$"), name="payout_tx_hash_hex"
            ),
            # Once per transaction, but for records given up as never seen: a source that lagged
            # past PAYOUT_GIVE_UP_SECONDS must not keep a real payment from being recorded.
            models.UniqueConstraint(
                fields=["tx_hash"],
                condition=~models.Q(status=PayoutStatus.NOT_FOUND),
                name="payout_tx_hash_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tx_hash[:12]}… ({self.status})"

    @property
    def is_settled(self) -> bool:
        return self.status in SETTLED_STATUSES

    @property
    def explorer_url(self) -> str:
        return explorer_url(self.tx_hash)

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The guard is the stored status, not this instance's: a stale copy cannot rewrite
        # history either.
        if not self._state.adding and _settled_in_db(self.pk):
            raise PayoutSettled(f"payout {self.tx_hash} is {self.status}; it no longer changes")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if _settled_in_db(self.pk):
            raise PayoutSettled(f"payout {self.tx_hash} is settled; it stays on record")
        return super().delete(*args, **kwargs)

    def event_state(self) -> PayoutState:
        return PayoutState(
            id=str(self.id),
            poll_id=str(self.poll_id),
            tx_hash=self.tx_hash,
            status=self.status,
            verified=self.verified,
            note=self.note,
            lines=[
                PayoutLineState(
                    cause_id=str(line.cause_id),
                    address=line.address,
                    expected_lovelace=line.expected_lovelace,
                    found_lovelace=line.found_lovelace,
                )
                for line in PayoutLine.objects.filter(payout_id=self.pk).order_by("position")
            ],
            confirmations=self.confirmations,
            explorer_url=self.explorer_url,
            recorded_at=_iso_utc(self.recorded_at),
            confirmed_at=_iso_utc(self.confirmed_at) if self.confirmed_at else None,
        )


def _settled_in_db(pk: Any) -> bool:
    return Payout.objects.filter(pk=pk, status__in=SETTLED_STATUSES).exists()


class PayoutLine(models.Model):
    """One cause a payout transaction pays: its address and payout as they were when the
    transaction was recorded, and what the chain showed at that address."""

    payout = models.ForeignKey(Payout, on_delete=models.CASCADE, related_name="lines")
    cause = models.ForeignKey(Cause, on_delete=models.PROTECT, related_name="payout_lines")
    position = models.PositiveIntegerField()
    address = models.CharField(max_length=120)
    expected_lovelace = models.PositiveBigIntegerField()
    found_lovelace = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["payout_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["payout", "cause"], name="payout_line_once"),
        ]

    def __str__(self) -> str:
        return f"{self.cause}: {self.expected_lovelace} lovelace to {self.address[:16]}…"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if _settled_in_db(self.payout_id):
            raise PayoutSettled("the lines of a settled payout do not change")
        super().save(*args, **kwargs)

    def pays(self, status: str) -> bool:
        """Whether this line paid its cause, given its record's status: confirmed by hand, or
        deep enough on chain with at least the payout at the address (a mismatched transaction
        may still have paid its other causes in full)."""
        if status == PayoutStatus.CONFIRMED_BY_HAND:
            return True
        return status in PAYING_STATUSES and (self.found_lovelace or 0) >= self.expected_lovelace
