"""The outbox table: one row per event, written in the transaction of the change it describes."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxEvent(models.Model):
    seq = models.BigAutoField(primary_key=True)  # commit order within this database
    # A random UUID, so not indexed (see Meta): JetStream deduplicates on it and each
    # consumer's inbox has it as its primary key, which is where uniqueness counts.
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=200)
    # "<poll>:<account>" (voting.participation) is two uuids.
    aggregate_id = models.CharField(max_length=100)
    aggregate_version = models.BigIntegerField()
    subject = models.CharField(max_length=255)
    payload = models.BinaryField()
    # The envelope's request id again, so the relay can send it as a NATS header and log it
    # without parsing the payload. Empty for events no request caused (beat tasks, commands).
    request_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    # True when a newer state of the same aggregate was sent instead of this one.
    superseded = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        app_label = "shared_events"
        db_table = "shared_events_outbox"
        # Few indexes on purpose: each one is written again when a row is marked published
        # (that update cannot be HOT), so each one costs the relay on every row.
        indexes = [
            models.Index(
                fields=["next_attempt_at", "seq"],
                condition=Q(published_at__isnull=True),
                name="outbox_pending_idx",
            ),
            models.Index(fields=["published_at"], name="outbox_published_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.aggregate_id} v{self.aggregate_version}"
