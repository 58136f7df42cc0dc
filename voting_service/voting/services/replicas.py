"""Writes to voting_service's data, including applying replicated states."""

from __future__ import annotations

from datetime import datetime

from shared_events.consumer.replicas import replica_apply
from shared_events.schemas.accounts import AccountState
from shared_events.schemas.polls import CauseState

from .models import CauseReplica, Voter


def voter_apply_account_state(*, state: AccountState, version: int) -> bool:
    return replica_apply(
        Voter,
        pk=state.id,
        version=version,
        deleted=state.deleted,
        fields={
            "role": state.role,
            "is_active": state.is_active,
            "points": state.points,
            "stake_address": state.stake_address,
            "joined_at": datetime.fromisoformat(state.joined_at),
        },
    )


def cause_apply_state(*, state: CauseState, version: int) -> bool:
    return replica_apply(
        CauseReplica,
        pk=state.id,
        version=version,
        deleted=state.deleted,
        fields={"title": state.title, "description": state.description, "url": state.url,
                "image_url": state.image_url, "is_active": state.is_active},
    )
