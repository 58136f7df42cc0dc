"""Applying replicated states: voters from accounts_service, causes and polls from
polls_service. Each is version-guarded, so a redelivered or reordered event changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from shared_events.core.consumer.replicas import ReplicaState, replica_apply, replica_apply_many
from shared_events.core.schemas.accounts import AccountState
from shared_events.core.schemas.polls import CauseState, PollState

from ..models import CauseReplica, PollReplica, Voter
from . import closing
from .tallies import tally_finalize


def _voter_fields(state: AccountState) -> dict[str, Any]:
    return {
        "role": state.role,
        "is_active": state.is_active,
        "points": state.points,
        "stake_address": state.stake_address,
        "joined_at": datetime.fromisoformat(state.joined_at),
    }


def voters_apply_account_states(*, states: Sequence[tuple[AccountState, int]]) -> set[uuid.UUID]:
    """Many account states (with their versions) at once: one upsert per 500 voters, each
    voter's newest state stored if newer than its replica. Returns the voters that changed."""
    return replica_apply_many(Voter, [
        ReplicaState(pk=state.id, version=version, deleted=state.deleted,
                     fields=_voter_fields(state)) for state, version in states])


def cause_apply_state(*, state: CauseState, version: int) -> bool:
    return replica_apply(
        CauseReplica,
        pk=state.id,
        version=version,
        deleted=state.deleted,
        fields={"title": state.title, "description": state.description, "url": state.url,
                "image_url": state.image_url, "is_active": state.is_active},
    )


@transaction.atomic
def poll_apply_state(*, state: PollState, version: int) -> bool:
    """Store the poll's state if newer; if it is now closed here, store the final tally in the
    same transaction. The poll row is locked first, which waits for the ballots in flight (they
    hold it FOR SHARE, see `services.ballot_sql`): so the close is applied after each of them, no
    ballot is accepted after it, and the final tally counts exactly the accepted ones. A close
    moves closes_at to what voting really enforced (`services.closing`)."""
    current = PollReplica.objects.select_for_update().filter(pk=state.id).first()
    now = timezone.now()
    closes_at = closing.enforced_closes_at(
        poll=current, status=state.status, closes_at=datetime.fromisoformat(state.closes_at),
        now=now)
    changed = replica_apply(
        PollReplica,
        pk=state.id,
        version=version,
        deleted=state.deleted,
        fields={
            "title": state.title,
            "description": state.description,
            "fund_lovelace": state.fund_lovelace,
            "opens_at": datetime.fromisoformat(state.opens_at),
            "closes_at": closes_at,
            "status": closing.status_to_store(poll=current, status=state.status,
                                              closes_at=closes_at, now=now),
            "results_visibility": state.results_visibility,
            # Canonical form, so comparing with ballots' cause ids is a string comparison.
            "causes": [str(uuid.UUID(c)) for c in state.causes],
        },
    )
    if changed:
        tally_finalize(poll=PollReplica.objects.get(pk=state.id))
    return changed
