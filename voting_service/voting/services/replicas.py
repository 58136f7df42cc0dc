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
from shared_events.core.schemas.accounts import AccountState, EpochStakePart
from shared_events.core.schemas.polls import CauseState, PollState

from ..models import CauseReplica, EpochStake, EpochStakePartReplica, PollReplica, Voter
from . import closing
from .power import power_freeze_if_ready, powers_freeze_due
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
    return replica_apply_many(
        Voter,
        [
            ReplicaState(
                pk=state.id, version=version, deleted=state.deleted, fields=_voter_fields(state)
            )
            for state, version in states
        ],
    )


def cause_apply_state(*, state: CauseState, version: int) -> bool:
    return replica_apply(
        CauseReplica,
        pk=state.id,
        version=version,
        deleted=state.deleted,
        fields={
            "title": state.title,
            "description": state.description,
            "url": state.url,
            "image_url": state.image_url,
            "is_active": state.is_active,
        },
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
        poll=current,
        status=state.status,
        closes_at=datetime.fromisoformat(state.closes_at),
        now=now,
    )
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
            "status": closing.status_to_store(
                poll=current, status=state.status, closes_at=closes_at, now=now
            ),
            "results_visibility": state.results_visibility,
            # Canonical form, so comparing with ballots' cause ids is a string comparison.
            "causes": [str(uuid.UUID(c)) for c in state.causes],
            "power_formula": state.power_formula,
            "min_stake_lovelace": state.min_stake_lovelace,
            "cap_percent": state.cap_percent,
            "snapshot_epoch": state.snapshot_epoch,
        },
    )
    if changed:
        poll = PollReplica.objects.get(pk=state.id)
        # Before the final tally, so a poll that opens and closes in one state still has
        # its power in that tally.
        power_freeze_if_ready(poll=poll)
        tally_finalize(poll=poll)
    return changed


def epoch_stake_apply_part(*, state: EpochStakePart, version: int) -> bool:
    """Store one part of an epoch's stake distribution if newer than its replica, its rows
    replacing the part's rows; then freeze the polls waiting for that epoch if it is now
    complete. Returns whether the part changed."""
    rows = _stake_rows(state)
    with transaction.atomic():
        changed = replica_apply(
            EpochStakePartReplica,
            pk=f"{state.epoch}-{state.part}",
            version=version,
            deleted=False,
            fields={
                "epoch": state.epoch,
                "part": state.part,
                "parts": state.parts,
                "pool_id": state.pool_id,
            },
        )
        if not changed:
            return False
        part_id = f"{state.epoch}-{state.part}"
        EpochStake.objects.filter(part_id=part_id).delete()
        EpochStake.objects.bulk_create(
            [
                EpochStake(
                    part_id=part_id,
                    epoch=state.epoch,
                    stake_address=address,
                    lovelace=lovelace,
                    loyalty=loyalty,
                )
                for address, lovelace, loyalty in rows
            ],
            batch_size=1000,
        )
    powers_freeze_due(epoch=state.epoch)
    return True


def _stake_rows(state: EpochStakePart) -> list[tuple[str, int, int]]:
    """The part's rows as (stake address, lovelace, loyalty): the first three columns, which
    the schema checked (later columns may be added). A row of another shape is a producer's
    bug, refused (the event is retried, then dead-lettered) rather than guessed."""
    rows = []
    for index, row in enumerate(state.rows):
        address, lovelace, loyalty = row[:3]
        if (
            not isinstance(address, str)
            or not address
            or any(
                isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in (lovelace, loyalty)
            )
        ):
            raise ValueError(
                f"epoch {state.epoch} part {state.part} row {index} is not "
                f"[stake_address, lovelace, loyalty]: {row!r}"
            )
        rows.append((address, int(lovelace), int(loyalty)))
    return rows
