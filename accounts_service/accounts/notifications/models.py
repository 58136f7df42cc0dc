"""What accounts keeps to send notifications: each delegator's choices, replicas of the polls'
events the messages tell about, the rounds of notices to send, and every notice (one per
delegator, poll and kind, ever)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from shared_events.core.consumer.replicas import ReplicaModel


class NoticeKind(models.TextChoices):
    POLL_OPENED = "poll_opened", "a poll opened (its causes and closing time)"
    CLOSING_SOON = "closing_soon", "a poll closes within a day and you have not voted"
    RESULTS = "results", "a poll's results, with what each cause receives"
    PAID = "paid", "the causes were paid"


class NotificationSettings(models.Model):
    """One delegator's choices. Nothing is sent until `confirmed_email` is the account's current
    address: a changed address must be confirmed again."""

    account = models.OneToOneField(
        "accounts.Account",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_settings",
    )
    poll_opened = models.BooleanField(default=False)
    closing_soon = models.BooleanField(default=False)
    results = models.BooleanField(default=False)
    paid = models.BooleanField(default=False)
    confirmed_email = models.EmailField(max_length=254, blank=True, default="")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "notification settings"
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"notifications of {self.account_id}"


class NoticePoll(ReplicaModel):
    """A poll as its notices tell about it (polls.poll events)."""

    id = models.UUIDField(primary_key=True)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=16)
    fund_lovelace = models.PositiveBigIntegerField(default=0)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    causes = models.JSONField(default=list)  # cause ids, in display order

    class Meta:
        indexes = [models.Index(fields=["status", "closes_at"], name="notice_poll_closing_idx")]

    def __str__(self) -> str:
        return self.title


class NoticeCause(ReplicaModel):
    """A cause's title and link, for the messages (polls.cause events)."""

    id = models.UUIDField(primary_key=True)
    title = models.CharField(max_length=200)
    url = models.CharField(max_length=500, blank=True, default="")

    def __str__(self) -> str:
        return self.title


class NoticeResult(ReplicaModel):
    """A poll's final results (polls.result events; id = the poll's)."""

    id = models.UUIDField(primary_key=True)
    fund_lovelace = models.PositiveBigIntegerField()
    causes = models.JSONField(default=list)  # CauseResult dicts
    ballots = models.PositiveIntegerField()
    finalized_at = models.DateTimeField()


class NoticePayout(ReplicaModel):
    """One payout transaction (polls.payout events), for the "paid" message's links."""

    id = models.UUIDField(primary_key=True)
    poll_id = models.UUIDField(db_index=True)
    tx_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=20)
    explorer_url = models.CharField(max_length=500, blank=True, default="")
    lines = models.JSONField(default=list)  # PayoutLine dicts


class NoticeParticipation(ReplicaModel):
    """Whether a delegator has a counted ballot in a poll (voting.participation events; id =
    "<poll_id>:<account_id>"). Who voted, never how."""

    id = models.CharField(max_length=80, primary_key=True)
    poll_id = models.UUIDField()
    account_id = models.UUIDField()
    voted = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["poll_id", "account_id"], name="notice_participation_idx")]


class NoticeRound(models.Model):
    """One kind of notice for one poll, to be planned: written in the transaction of the event
    that made it due, so a lost Celery message delays it (the beat sweep plans it) but never
    drops it. Planning gives every delegator opted in then a Notice and marks it planned."""

    poll_id = models.UUIDField()
    kind = models.CharField(max_length=16, choices=NoticeKind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    planned_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll_id", "kind"], name="notice_round_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.poll_id}"


class Notice(models.Model):
    """One message to one delegator. The unique key (account, poll, kind) is what makes a
    redelivered event or a retried task send nothing more: a notice is claimed (pending →
    sending) before it is sent and marked sent after, and never claimed twice."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENDING = "sending", "sending (claimed; left so if a worker died while sending)"
        SENT = "sent", "sent"
        SKIPPED = "skipped", "skipped (opted out, address changed, or voted since)"
        FAILED = "failed", "failed (every attempt)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="notices"
    )
    poll_id = models.UUIDField()
    kind = models.CharField(max_length=16, choices=NoticeKind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    email = models.EmailField(max_length=254, blank=True, default="")  # where it went
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(null=True, blank=True)  # last handed to the send task
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "poll_id", "kind"], name="notice_once_per_poll_and_kind"
            )
        ]
        indexes = [models.Index(fields=["status", "queued_at"], name="notice_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.account_id}"
