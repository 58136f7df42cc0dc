"""voting_service's data: replicas of other services' aggregates (voters, causes, polls), the
ballots it owns with their revision history, and the tallies it publishes."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from shared_events.core.consumer.replicas import ReplicaModel
from shared_events.core.outbox.published import PublishedModel
from shared_events.core.schemas.polls import PollStatus, PowerFormula, ResultsVisibility
from shared_events.core.schemas.voting import CauseTally, TallyState

from .eligibility import voter_refusal


class Voter(ReplicaModel):
    """An account as accounts_service last published it: the only source of eligibility and
    voting power here (never the token's claims)."""

    id = models.UUIDField(primary_key=True)
    role = models.CharField(max_length=16)
    is_active = models.BooleanField()
    points = models.PositiveBigIntegerField()
    stake_address = models.CharField(max_length=120, null=True, blank=True)  # noqa: DJ001
    joined_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"voter {self.id}"

    @property
    def can_vote(self) -> bool:
        return voter_refusal(self) is None


class CauseReplica(ReplicaModel):
    id = models.UUIDField(primary_key=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    image_url = models.CharField(max_length=500, blank=True)
    is_active = models.BooleanField()

    def __str__(self) -> str:
        return self.title


class PollReplica(ReplicaModel):
    """A funding round as polls_service last published it. Its status decides whether ballots
    are accepted; the row is also the lock that orders ballots against the close (see
    `services.ballot_sql`).

    Two fields are voting's own word at a close (`services.closing`): closes_at is the instant
    from which it accepts no ballot, which is not the one polls asked for when it heard of an
    early close late; and a `closing` poll becomes `closed` here when its final tally is
    written, before polls says so."""

    id = models.UUIDField(primary_key=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    fund_lovelace = models.PositiveBigIntegerField()
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=PollStatus.choices)
    # Labelled as Django names the values: polls' labels here would be a migration for nothing.
    results_visibility = models.CharField(
        max_length=16,
        choices=[(v.value, v.name.replace("_", " ").title()) for v in ResultsVisibility],
    )
    # Cause ids (strings) in display order; the poll, not the cause replica, says what counts.
    causes = models.JSONField(default=list)
    # How voting power is computed and frozen in this poll (`services.power`), fixed by polls
    # once the poll opens; the defaults are a poll's from before these fields.
    power_formula = models.CharField(
        max_length=16, choices=PowerFormula.choices, default=PowerFormula.POINTS
    )
    min_stake_lovelace = models.PositiveBigIntegerField(default=0)
    cap_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    snapshot_epoch = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.title

    @property
    def is_closed(self) -> bool:
        return self.status in (PollStatus.CLOSED, PollStatus.FINALIZED, PollStatus.PAID)

    @property
    def takes_ballots(self) -> bool:
        """By its status; the clock (opens_at, closes_at) decides too."""
        return self.status in (PollStatus.OPEN, PollStatus.CLOSING)

    @property
    def results_visible(self) -> bool:
        return self.results_visibility == ResultsVisibility.LIVE or self.is_closed


class EpochStakePartReplica(ReplicaModel):
    """One part of the pool's stake distribution in one epoch, as accounts published it (id
    "{epoch}-{part}"); its rows are `EpochStake`. An epoch is complete here once all its
    `parts` are (`selectors.power.epoch_complete`)."""

    id = models.CharField(primary_key=True, max_length=40)
    epoch = models.PositiveIntegerField()
    part = models.PositiveIntegerField()
    parts = models.PositiveIntegerField()
    pool_id = models.CharField(max_length=120)

    class Meta:
        indexes = [models.Index(fields=["epoch"], name="stake_part_epoch_idx")]

    def __str__(self) -> str:
        return f"epoch {self.epoch}, part {self.part + 1} of {self.parts}"


class EpochStake(models.Model):
    """A stake address in the pool's distribution of an epoch: its active stake and loyalty
    (consecutive epochs in the pool, this one included)."""

    part = models.ForeignKey(
        EpochStakePartReplica, on_delete=models.CASCADE, related_name="stakes", db_index=False
    )  # epoch_stake_part_idx
    epoch = models.PositiveIntegerField()
    stake_address = models.CharField(max_length=120)
    lovelace = models.PositiveBigIntegerField()
    loyalty = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["epoch", "stake_address"], name="one_stake_per_epoch_and_address"
            )
        ]
        indexes = [models.Index(fields=["part"], name="epoch_stake_part_idx")]

    def __str__(self) -> str:
        return f"{self.stake_address} in epoch {self.epoch}"


class PollPowerTable(models.Model):
    """That a poll's power table is frozen (chain mode), with what it was computed from. Its
    rows are `PollPower`; none of them changes after, except that a row of the points formula
    whose voter was not known gets its power when first needed (`services.power`)."""

    poll = models.OneToOneField(
        PollReplica, primary_key=True, on_delete=models.PROTECT, related_name="power_table"
    )
    power_formula = models.CharField(max_length=16, choices=PowerFormula.choices)
    snapshot_epoch = models.PositiveIntegerField()
    min_stake_lovelace = models.PositiveBigIntegerField()
    cap_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    uncapped_total = models.PositiveBigIntegerField()  # the total the cap is a share of
    cap = models.PositiveBigIntegerField(null=True, blank=True)  # the most power of one voter
    frozen_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"power table of {self.poll_id}"


class PollPower(models.Model):
    """A frozen voting power in a poll: in chain mode one row per stake address of the
    snapshot epoch with at least the minimum stake; in the open mode one per voter, frozen at
    their first need. `power` is after the cap; None only for a points-formula row whose voter
    was not known at the freeze."""

    poll = models.ForeignKey(
        PollReplica, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # the unique constraints lead with it
    stake_address = models.CharField(max_length=120, null=True, blank=True)  # noqa: DJ001
    voter_id = models.UUIDField(null=True, blank=True)
    lovelace = models.PositiveBigIntegerField(null=True, blank=True)
    loyalty = models.PositiveIntegerField(null=True, blank=True)
    uncapped = models.PositiveBigIntegerField(null=True, blank=True)
    power = models.PositiveBigIntegerField(null=True, blank=True)
    frozen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["poll", "stake_address"], name="one_power_per_poll_and_address"
            ),
            models.UniqueConstraint(
                fields=["poll", "voter_id"], name="one_power_per_poll_and_voter"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.power} in {self.poll_id}"


class Ballot(models.Model):
    """One voter's ballot in one poll: its current allocations live in `Allocation`, every
    version of it (retraction included) in `BallotRevision`. The row outlives a retraction so
    the history stays attached to one ballot."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of their own (db_index=False) where one below leads with them: each index is
    # written on every insert, so a ballot writes only the ones its reads use.
    poll = models.ForeignKey(
        PollReplica, on_delete=models.PROTECT, related_name="ballots", db_index=False
    )  # one_ballot_per_voter_and_poll
    # No database constraint: its check at a ballot's commit locks the voter's row FOR KEY
    # SHARE, a write of the row's page on every first cast (`services.ballot_sql`). A ballot is
    # written only for a voter its locked read found, and voters are never deleted (a deleted
    # account stays as a replica with is_deleted).
    voter = models.ForeignKey(
        Voter,
        on_delete=models.PROTECT,
        related_name="ballots",
        db_index=False,
        db_constraint=False,
    )  # ballot_voter_idx
    revision = models.PositiveIntegerField(default=0)  # the latest revision's number
    retracted_at = models.DateTimeField(null=True, blank=True)
    # The latest revision's receipt, kept here so the next revision chains to it without a
    # read of the history.
    receipt = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "voter"], name="one_ballot_per_voter_and_poll"),
        ]
        # By voter only (a voter has a ballot per poll, few to sort): an index on updated_at
        # would make every re-vote's UPDATE a non-HOT one, rewriting each index of the table.
        indexes = [models.Index(fields=["voter"], name="ballot_voter_idx")]

    def __str__(self) -> str:
        return f"ballot of {self.voter_id} in {self.poll_id}"

    @property
    def is_retracted(self) -> bool:
        return self.retracted_at is not None


class Allocation(models.Model):
    """A current allocation: what the tallies aggregate. `poll` repeats the ballot's poll so a
    tally is one indexed aggregate over this table."""

    ballot = models.ForeignKey(
        Ballot, on_delete=models.CASCADE, related_name="allocations", db_index=False
    )  # one_allocation_per_cause leads with it
    # The ballot's poll again, kept right by the code that writes both; no database constraint
    # of its own, because its check locked the one poll row (KEY SHARE) for every allocation of
    # every concurrent ballot. The ballot's own foreign key to the poll stands.
    poll = models.ForeignKey(
        PollReplica, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )  # allocation_poll_cause_idx
    cause_id = models.UUIDField()
    points = models.PositiveBigIntegerField()
    position = models.PositiveSmallIntegerField()  # order as the voter sent them

    class Meta:
        ordering = ["ballot", "position"]
        constraints = [
            models.UniqueConstraint(fields=["ballot", "cause_id"], name="one_allocation_per_cause"),
        ]
        indexes = [models.Index(fields=["poll", "cause_id"], name="allocation_poll_cause_idx")]

    def __str__(self) -> str:
        return f"{self.points} to {self.cause_id}"


class BallotRevision(models.Model):
    """Append-only history: one row per cast, re-vote or retraction, never changed."""

    class Kind(models.TextChoices):
        CAST = "cast"
        RETRACT = "retract"

    ballot = models.ForeignKey(
        Ballot, on_delete=models.PROTECT, related_name="revisions", db_index=False
    )  # one_revision_per_number leads with it
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    allocations = models.JSONField(default=list)  # [{"cause": id, "points": int}], as sent
    total_points = models.PositiveBigIntegerField(default=0)
    voter_points = models.PositiveBigIntegerField()  # the voting power it was checked against
    created_at = models.DateTimeField(default=timezone.now)
    # Its receipt (format in voting.receipts): chains to the previous revision's.
    receipt = models.CharField(max_length=64, unique=True)
    previous_receipt = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    nonce = models.CharField(max_length=32)

    class Meta:
        ordering = ["ballot", "number"]
        constraints = [
            models.UniqueConstraint(fields=["ballot", "number"], name="one_revision_per_number"),
        ]

    def __str__(self) -> str:
        return f"revision {self.number} ({self.kind})"


class PollTallyTotals(models.Model):
    """The running counts of a poll's ballots, kept by `services.tally_totals` from the
    revisions written since its last pass, so a live tally is one row, not an aggregate over
    every allocation. The final tally is still counted from the ballots themselves."""

    poll = models.OneToOneField(
        PollReplica, primary_key=True, on_delete=models.PROTECT, related_name="+"
    )
    causes = models.JSONField(default=dict)  # {cause id: [points, voters]}
    ballots = models.PositiveIntegerField(default=0)  # ballots with some points

    def __str__(self) -> str:
        return f"running totals of {self.poll_id}"


class TallyWatermark(models.Model):
    """How far `services.tally_totals` has counted the revisions: every id up to
    `last_revision_id` but the `pending` ones, ids a transaction may still commit."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_revision_id = models.BigIntegerField(default=0)
    pending = models.JSONField(default=list)  # [[revision id, seen missing at (ISO time)]]

    def __str__(self) -> str:
        return f"tallies counted to revision {self.last_revision_id}"


class PollTally(PublishedModel):
    """The last tally published for a poll (aggregate `voting.tally`, id = poll id). Refreshed
    about once a second while the poll is open and only when the counts changed; the final one
    is written in the transaction that applies the poll's close and never changes after."""

    poll = models.OneToOneField(
        PollReplica, primary_key=True, on_delete=models.PROTECT, related_name="tally"
    )
    causes = models.JSONField(default=list)  # [{"cause_id", "points", "voters"}], poll order
    ballots = models.PositiveIntegerField(default=0)
    total_points = models.PositiveBigIntegerField(default=0)
    final = models.BooleanField(default=False)
    # None until final (TallyState says so too); "" would read as a digest of nothing.
    ballots_digest = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    # The digest of the counted ballots' receipts (voting.receipts); None until final.
    receipts_digest = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    computed_at = models.DateTimeField(default=timezone.now)
    # Final only: the instant from which no ballot of the poll was accepted; None before.
    closes_at = models.DateTimeField(null=True, blank=True)
    # The poll's power as voting applied it (`selectors.power.power_summary`); None when
    # not computed yet.
    power_formula = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001
    snapshot_epoch = models.PositiveIntegerField(null=True, blank=True)
    eligible = models.PositiveIntegerField(null=True, blank=True)
    total_power = models.PositiveBigIntegerField(null=True, blank=True)

    event_aggregate = "voting.tally"
    published_fields = frozenset(
        {
            "causes",
            "ballots",
            "total_points",
            "final",
            "ballots_digest",
            "receipts_digest",
            "computed_at",
            "closes_at",
            "power_formula",
            "snapshot_epoch",
            "eligible",
            "total_power",
        }
    )

    class Meta(PublishedModel.Meta):
        verbose_name_plural = "poll tallies"

    def __str__(self) -> str:
        return f"tally of {self.poll_id}" + (" (final)" if self.final else "")

    def event_state(self) -> TallyState:
        return TallyState(
            poll_id=str(self.pk),
            causes=[
                CauseTally(cause_id=c["cause_id"], points=c["points"], voters=c["voters"])
                for c in self.causes
            ],
            ballots=self.ballots,
            total_points=self.total_points,
            final=self.final,
            ballots_digest=self.ballots_digest,
            receipts_digest=self.receipts_digest,
            computed_at=self.computed_at.isoformat(),
            closes_at=self.closes_at.isoformat() if self.closes_at else None,
            power_formula=self.power_formula,
            snapshot_epoch=self.snapshot_epoch,
            eligible=self.eligible,
            total_power=self.total_power,
        )


# polls' results and payouts live in their own module; imported here so Django registers them.
from .payout_replicas import PayoutReplica, PollResultReplica  # noqa: E402, F401
