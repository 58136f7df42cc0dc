"""Reads of voting_service's data."""

from __future__ import annotations

import uuid

from .models import Voter


def voter_get(*, voter_id: uuid.UUID) -> Voter | None:
    return Voter.objects.filter(pk=voter_id).first()
