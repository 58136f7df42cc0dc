"""Causes, funding rounds (polls) with the causes they offer, their final results, and the
replica of voting_service's live tally."""

from __future__ import annotations

import uuid
from datetime import UTC
from decimal import Decimal
from typing import Any

from django.db import NotSupportedError, models
from django.utils import timezone

from shared_events.core.consumer.replicas import ReplicaModel
from shared_events.core.outbox.published import PublishedModel
from shared_events.core.schemas.polls import (
    CauseState,
    PollState,
    PollStatus,
    PowerFormula,
    ResultsVisibility,
)

from .validators import validate_payout_address

LOVELACE_PER_ADA = 1_000_000
# All the ada there will ever be: a fund above it is a typo, and it keeps fund x points in range.
MAX_LOVELACE = 45_000_000_000 * LOVELACE_PER_ADA


def lovelace_to_ada(lovelace: int) -> Decimal:
    """Exact: six decimals, since a lovelace is a millionth of an ada."""
    return (Decimal(lovelace) / LOVELACE_PER_ADA).quantize(Decimal("0.000001"))


# A poll with final results: finalized, and paid once every payout is confirmed.
FINAL_STATUSES = (PollStatus.FINALIZED, PollStatus.PAID)


class Cause(PublishedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    url = models.URLField(max_length=500, blank=True)
    image_url = models.URLField(max_length=500, blank=True)
    is_active = models.BooleanField(default=True)
    payout_address = models.CharField(
        max_length=120,
        blank=True,
        validators=[validate_payout_address],
        help_text="where its payouts go: a bech32 Shelley address (addr1…) of the network",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    event_aggregate = "polls.cause"
    published_fields = frozenset(
        {"title", "description", "url", "image_url", "is_active", "payout_address"}
    )

    class Meta(PublishedModel.Meta):
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def event_state(self) -> CauseState:
        return CauseState(
            id=str(self.id),
            title=self.title,
            description=self.description,
            url=self.url,
            image_url=self.image_url,
            is_active=self.is_active,
            payout_address=self.payout_address,
        )


def _iso_utc(value: Any) -> str:
    return value.astimezone(UTC).isoformat()


class Poll(PublishedModel):
    """A funding round. Write it only through `polls.services`: the rules of the state machine
    live there, and the causes on offer are part of the published state (see `PollCause`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    fund_lovelace = models.PositiveBigIntegerField(help_text="1 ada = 1,000,000 lovelace")
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=PollStatus.choices, default=PollStatus.DRAFT, db_index=True
    )
    results_visibility = models.CharField(
        max_length=16, choices=ResultsVisibility.choices, default=ResultsVisibility.LIVE
    )
    causes = models.ManyToManyField(Cause, through="PollCause", related_name="polls")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    # Voting power: voting computes it from these once, when the poll opens, and freezes it.
    power_formula = models.CharField(
        max_length=16, choices=PowerFormula.choices, default=PowerFormula.POINTS
    )
    min_stake_lovelace = models.PositiveBigIntegerField(
        default=0, help_text="a delegator with less active stake has no power in this poll"
    )
    cap_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="no voter above this share of the total power "
        "(1-100; the excess is cut, not redistributed); blank: no cap",
    )
    snapshot_epoch = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="the epoch whose stake distribution counts; blank: "
        "the epoch the poll opens in (set when it opens)",
    )

    # Final results (set once, by finalization from voting's final tally).
    total_points = models.PositiveBigIntegerField(null=True, blank=True)
    ballot_count = models.PositiveIntegerField(null=True, blank=True)
    ballots_digest = models.CharField(max_length=128, blank=True)
    receipts_digest = models.CharField(max_length=128, blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    no_payouts = models.BooleanField(
        default=False, help_text="Finalized with no points allocated, so nothing is paid out."
    )
    # From the final tally (None from a voting that predates voting power).
    eligible_voters = models.PositiveIntegerField(
        null=True, blank=True, help_text="delegators who had voting power in the poll"
    )
    total_power = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="the sum of their frozen voting power"
    )

    event_aggregate = "polls.poll"
    published_fields = frozenset(
        {
            "title",
            "description",
            "fund_lovelace",
            "opens_at",
            "closes_at",
            "status",
            "results_visibility",
            "power_formula",
            "min_stake_lovelace",
            "cap_percent",
            "snapshot_epoch",
        }
    )

    class Meta(PublishedModel.Meta):
        ordering = ["-opens_at", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fund_lovelace__gt=0), name="poll_fund_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(opens_at__lt=models.F("closes_at")),
                name="poll_opens_before_it_closes",
            ),
            models.CheckConstraint(
                condition=models.Q(cap_percent__isnull=True)
                | models.Q(cap_percent__gte=1, cap_percent__lte=100),
                name="poll_cap_percent_1_to_100",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "opens_at"]),
            models.Index(fields=["status", "closes_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_terminal(self) -> bool:
        return self.status in (PollStatus.FINALIZED, PollStatus.PAID, PollStatus.CANCELLED)

    @property
    def fund_ada(self) -> Decimal:
        return lovelace_to_ada(self.fund_lovelace)

    def cause_ids(self) -> list[uuid.UUID]:
        """The causes on offer, in display order (read from the database, as published)."""
        return list(
            PollCause.objects.filter(poll_id=self.pk)
            .order_by("position")
            .values_list("cause_id", flat=True)
        )

    def event_state(self) -> PollState:
        return PollState(
            id=str(self.id),
            title=self.title,
            description=self.description,
            fund_lovelace=self.fund_lovelace,
            opens_at=_iso_utc(self.opens_at),
            closes_at=_iso_utc(self.closes_at),
            status=self.status,
            results_visibility=self.results_visibility,
            causes=[str(c) for c in self.cause_ids()],
            power_formula=self.power_formula,
            min_stake_lovelace=self.min_stake_lovelace,
            cap_percent=self.cap_percent,
            snapshot_epoch=self.snapshot_epoch,
        )


class PollCauseQuerySet(models.QuerySet):
    """Bulk writes send no signals, so they could change what a poll offers without a new poll
    event: refused. `polls.services.poll_update` (or save()/delete() per row) is the way."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise NotSupportedError(
            "a poll's causes are part of its published state: change them with "
            "polls.services.poll_update(poll=..., causes=[...])"
        )

    bulk_create = bulk_update = update = _refuse  # type: ignore[assignment]


class PollCause(models.Model):
    """A cause on offer in a poll, in display order. Every save or delete republishes the poll
    (`polls.signals`), in the same transaction."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="poll_causes")
    cause = models.ForeignKey(Cause, on_delete=models.PROTECT, related_name="poll_entries")
    position = models.PositiveIntegerField()

    objects = PollCauseQuerySet.as_manager()

    class Meta:
        ordering = ["poll_id", "position"]
        base_manager_name = "objects"
        constraints = [
            models.UniqueConstraint(fields=["poll", "cause"], name="poll_cause_once"),
            models.UniqueConstraint(fields=["poll", "position"], name="poll_cause_position"),
        ]

    def __str__(self) -> str:
        return f"{self.position + 1}. {self.cause}"


class PollResult(models.Model):
    """The final result of one cause in one poll: written once, when the poll is finalized."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="results")
    cause = models.ForeignKey(Cause, on_delete=models.PROTECT, related_name="results")
    position = models.PositiveIntegerField()
    points = models.PositiveBigIntegerField()
    voters = models.PositiveIntegerField()
    share = models.DecimalField(
        max_digits=7, decimal_places=6, help_text="points / total points (0 when nobody voted)"
    )
    payout_lovelace = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["poll_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["poll", "cause"], name="poll_result_once"),
        ]

    def __str__(self) -> str:
        return f"{self.cause}: {self.payout_lovelace} lovelace"

    @property
    def payout_ada(self) -> Decimal:
        return lovelace_to_ada(self.payout_lovelace)


class TallyReplica(ReplicaModel):
    """voting_service's tally of a poll as last published (pk = poll id). Not a foreign key: a
    tally may name a poll this service no longer has, and must still be stored, not fail."""

    id = models.UUIDField(primary_key=True)
    causes = models.JSONField(default=list)  # [{"cause_id", "points", "voters"}]
    ballots = models.PositiveIntegerField(default=0)
    total_points = models.PositiveBigIntegerField(default=0)
    final = models.BooleanField(default=False)
    ballots_digest = models.CharField(max_length=128, blank=True)
    receipts_digest = models.CharField(max_length=128, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    # On a final tally: the instant from which voting accepted no ballot (None from a voting
    # that predates it).
    closes_at = models.DateTimeField(null=True, blank=True)
    # Voting power as voting applied it (None from a voting that predates it).
    power_formula = models.CharField(max_length=16, blank=True)
    snapshot_epoch = models.PositiveIntegerField(null=True, blank=True)
    eligible = models.PositiveIntegerField(null=True, blank=True)
    total_power = models.PositiveBigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"tally of poll {self.id}"

    def points_by_cause(self) -> dict[str, dict[str, int]]:
        return {
            str(c["cause_id"]): {"points": c["points"], "voters": c["voters"]} for c in self.causes
        }


class AccountReplica(ReplicaModel):
    """An account's role and active flag as accounts_service last published them: what decides
    operator rights here, not the role a still-valid token claims (identity/standing.py)."""

    id = models.UUIDField(primary_key=True)
    role = models.CharField(max_length=16)
    is_active = models.BooleanField()

    def __str__(self) -> str:
        return f"account {self.id}"


# Payout records live in their own module; imported here so Django registers them with polls.
from .payout_models import Payout, PayoutLine  # noqa: E402, F401
