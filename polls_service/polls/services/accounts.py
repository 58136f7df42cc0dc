"""accounts_service's accounts, replicated here only for what operator rights depend on."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from shared_events.core.consumer.replicas import ReplicaState, replica_apply_many
from shared_events.core.schemas.accounts import AccountState

from ..models import AccountReplica


def accounts_apply_states(*, states: Sequence[tuple[AccountState, int]]) -> set[uuid.UUID]:
    """Many account states (with their versions) at once, each stored only if newer than the
    replica's: an epoch's accrual republishes every account. Returns the accounts that changed."""
    return replica_apply_many(
        AccountReplica,
        [
            ReplicaState(
                pk=state.id,
                version=version,
                deleted=state.deleted,
                fields={"role": state.role, "is_active": state.is_active},
            )
            for state, version in states
        ],
    )
