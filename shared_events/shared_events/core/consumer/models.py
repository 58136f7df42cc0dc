"""The inbox (events already applied) and the dead letters (events that could not be)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ProcessedEvent(models.Model):
    """One row per applied event id, written in the transaction that applied it."""

    event_id = models.UUIDField(primary_key=True)
    event_type = models.CharField(max_length=200)
    stream = models.CharField(max_length=64)
    stream_seq = models.BigIntegerField()
    processed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        app_label = "shared_events"
        db_table = "shared_events_inbox"

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class DeadLetter(models.Model):
    class Status(models.TextChoices):
        DEAD = "dead", "dead"
        REPLAYED = "replayed", "replayed"
        DISCARDED = "discarded", "discarded"

    stream = models.CharField(max_length=64)
    stream_seq = models.BigIntegerField()
    subject = models.CharField(max_length=255)
    event_id = models.UUIDField(null=True, blank=True)
    event_type = models.CharField(max_length=200, blank=True)
    payload = models.BinaryField()
    error = models.TextField()
    deliveries = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DEAD)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "shared_events"
        db_table = "shared_events_dead_letter"
        constraints = [
            models.UniqueConstraint(fields=["stream", "stream_seq"], name="dead_letter_once")
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="dead_letter_status_idx")]

    def __str__(self) -> str:
        return f"{self.event_type or self.subject} #{self.stream_seq} ({self.status})"

    def payload_text(self) -> str:
        return bytes(self.payload).decode("utf-8", errors="replace")
