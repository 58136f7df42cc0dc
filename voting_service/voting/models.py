"""voting_service's replicas of other services' aggregates. Ballots and tallies come with the
polls issue."""

from __future__ import annotations

from django.db import models

from shared_events.consumer.replicas import ReplicaModel


class Voter(ReplicaModel):
    """An account as accounts_service last published it: the only source of eligibility and
    voting power here (never the token's claims)."""

    id = models.UUIDField(primary_key=True)
    role = models.CharField(max_length=16)
    is_active = models.BooleanField()
    points = models.PositiveBigIntegerField()
    stake_address = models.CharField(max_length=120, null=True, blank=True)
    joined_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"voter {self.id}"

    @property
    def can_vote(self) -> bool:
        return self.is_active and not self.is_deleted and self.role == "delegator"


class CauseReplica(ReplicaModel):
    id = models.UUIDField(primary_key=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    image_url = models.CharField(max_length=500, blank=True)
    is_active = models.BooleanField()

    def __str__(self) -> str:
        return self.title
