"""Reads of the replicas: voters and polls as their source services last published them."""

from __future__ import annotations

import uuid

from shared_events.kit.identity.standing import Standing

from ..models import PollReplica, PollStatus, Voter


def voter_get(*, voter_id: uuid.UUID) -> Voter | None:
    return Voter.objects.filter(pk=voter_id).first()


def account_standing(account_id: uuid.UUID) -> Standing | None:
    """Role and active flag from the voter replica (settings.ACCOUNT_STANDING): what decides
    operator rights here, as eligibility is decided for ballots."""
    row = Voter.objects.filter(pk=account_id).values_list("role", "is_active", "is_deleted").first()
    if row is None:
        return None
    role, is_active, is_deleted = row
    return Standing(role=role, is_active=is_active and not is_deleted)


def poll_get(*, poll_id: uuid.UUID) -> PollReplica | None:
    """The poll unless it is unknown here, deleted at its source, or a draft (an operator's
    work in progress, which polls shows nobody but operators: voting shows it to nobody)."""
    return (
        PollReplica.objects.filter(pk=poll_id, is_deleted=False)
        .exclude(status=PollStatus.DRAFT)
        .first()
    )
