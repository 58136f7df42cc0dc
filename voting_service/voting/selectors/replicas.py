"""Reads of the replicas: voters and polls as their source services last published them."""

from __future__ import annotations

import uuid

from ..models import PollReplica, PollStatus, Voter


def voter_get(*, voter_id: uuid.UUID) -> Voter | None:
    return Voter.objects.filter(pk=voter_id).first()


def poll_get(*, poll_id: uuid.UUID) -> PollReplica | None:
    """The poll unless it is unknown here, deleted at its source, or a draft (an operator's
    work in progress, which polls shows nobody but operators: voting shows it to nobody)."""
    return (PollReplica.objects.filter(pk=poll_id, is_deleted=False)
            .exclude(status=PollStatus.DRAFT).first())
