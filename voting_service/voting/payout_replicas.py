"""polls' final results and payout transactions, as polls last published them: what a
delegator's results page and history show of how the round was paid.

Imported by `models` (so Django sees them as voting's models). Not foreign keys to the poll
replica: an event may name a poll this service has not heard of yet, and must still be stored.
"""

from __future__ import annotations

from django.db import models

from shared_events.core.consumer.replicas import ReplicaModel


class PollResultReplica(ReplicaModel):
    """`polls.result` (pk = poll id): each cause's final points and payout."""

    id = models.UUIDField(primary_key=True)
    fund_lovelace = models.PositiveBigIntegerField()
    causes = models.JSONField(default=list)  # [{cause_id, title, points, voters, payout_lovelace}]
    ballots = models.PositiveIntegerField()
    receipts_digest = models.CharField(max_length=128, blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"results of poll {self.id}"


class PayoutReplica(ReplicaModel):
    """`polls.payout` (pk = the record's id): one payout transaction and what the chain (or the
    operator, by hand) said of it."""

    id = models.UUIDField(primary_key=True)
    poll_id = models.UUIDField(db_index=True)
    tx_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=24)
    verified = models.BooleanField()
    note = models.TextField(blank=True)
    lines = models.JSONField(
        default=list
    )  # [{cause_id, address, expected_lovelace, found_lovelace}]
    confirmations = models.PositiveIntegerField()
    explorer_url = models.CharField(max_length=500, blank=True)
    recorded_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"payout {self.tx_hash[:12]}… ({self.status})"
