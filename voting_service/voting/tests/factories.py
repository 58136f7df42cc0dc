"""Replicated states as the consumer would apply them, and clients for the API."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from itertools import count

from rest_framework.test import APIClient

from shared_events.core.consumer.apply import IncomingMessage
from shared_events.core.schemas.accounts import AccountState, EpochStakePart
from shared_events.core.schemas.polls import PollState
from shared_events.kit.testing import make_token
from voting import services
from voting.models import PollReplica, Voter

_seq = count(1)


def account_state(
    account_id: uuid.UUID | None = None,
    *,
    points: int = 100,
    is_active: bool = True,
    role: str = "delegator",
    stake_address: str | None = None,
) -> AccountState:
    return AccountState(
        id=str(account_id or uuid.uuid4()),
        role=role,
        is_active=is_active,
        points=points,
        stake_address=stake_address,
        joined_at="2026-01-01T00:00:00+00:00",
    )


def make_voter(points: int = 100, **kwargs) -> Voter:
    state = account_state(points=points, **kwargs)
    services.voters_apply_account_states(states=[(state, 1)])
    return Voter.objects.get(pk=state.id)


def set_voter(voter: Voter, **changes) -> Voter:
    state = dataclasses.replace(
        account_state(
            voter.pk,
            points=voter.points,
            is_active=voter.is_active,
            role=voter.role,
            stake_address=voter.stake_address,
        ),
        **changes,
    )
    services.voters_apply_account_states(states=[(state, voter.source_version + 1)])
    return Voter.objects.get(pk=voter.pk)


def poll_state(
    poll_id: uuid.UUID | None = None,
    *,
    causes: int | list[str] = 3,
    status: str = "open",
    opens_in: timedelta = timedelta(hours=-1),
    closes_in: timedelta = timedelta(hours=1),
    results_visibility: str = "live",
    **fields,
) -> PollState:
    now = datetime.now(UTC)
    cause_ids = [str(uuid.uuid4()) for _ in range(causes)] if isinstance(causes, int) else causes
    return PollState(
        id=str(poll_id or uuid.uuid4()),
        title=fields.pop("title", "Round 1"),
        description="",
        fund_lovelace=fields.pop("fund_lovelace", 10_000_000),
        opens_at=(now + opens_in).isoformat(),
        closes_at=(now + closes_in).isoformat(),
        status=status,
        results_visibility=results_visibility,
        causes=cause_ids,
        **fields,
    )


def make_poll(**kwargs) -> PollReplica:
    state = poll_state(**kwargs)
    services.poll_apply_state(state=state, version=1)
    return PollReplica.objects.get(pk=state.id)


def poll_state_of(poll: PollReplica, **changes) -> PollState:
    """The replica's state back as a PollState, with changes (a new status, say)."""
    values = {
        "id": str(poll.pk),
        "title": poll.title,
        "description": poll.description,
        "fund_lovelace": poll.fund_lovelace,
        "opens_at": poll.opens_at.isoformat(),
        "closes_at": poll.closes_at.isoformat(),
        "status": poll.status,
        "results_visibility": poll.results_visibility,
        "causes": list(poll.causes),
        "deleted": poll.is_deleted,
        "power_formula": poll.power_formula,
        "min_stake_lovelace": poll.min_stake_lovelace,
        "cap_percent": poll.cap_percent,
        "snapshot_epoch": poll.snapshot_epoch,
    }
    return PollState(**{**values, **changes})


def set_poll(poll: PollReplica, **changes) -> PollReplica:
    services.poll_apply_state(state=poll_state_of(poll, **changes), version=poll.source_version + 1)
    return PollReplica.objects.get(pk=poll.pk)


def account_message(
    account_id,
    version,
    *,
    points=100,
    is_active=True,
    role="delegator",
    verb="updated",
    stake_address=None,
    joined_at="2026-01-01T00:00:00+00:00",
):
    return IncomingMessage(
        "ACCOUNTS",
        next(_seq),
        f"accounts.account.{account_id}",
        json.dumps(
            {
                "id": str(uuid.uuid4()),
                "type": f"accounts.account.{verb}",
                "schema_version": 1,
                "aggregate_id": str(account_id),
                "version": version,
                "occurred_at": datetime.now(UTC).isoformat(),
                "data": {
                    "id": str(account_id),
                    "role": role,
                    "is_active": is_active,
                    "points": points,
                    "stake_address": stake_address,
                    "joined_at": joined_at,
                },
            }
        ).encode(),
    )


def poll_message(
    state: PollState, version: int, *, verb: str = "updated", event_id: uuid.UUID | None = None
) -> IncomingMessage:
    return IncomingMessage(
        "POLLS",
        next(_seq),
        f"polls.poll.{state.id}",
        json.dumps(
            {
                "id": str(event_id or uuid.uuid4()),
                "type": f"polls.poll.{verb}",
                "schema_version": 1,
                "aggregate_id": state.id,
                "version": version,
                "occurred_at": datetime.now(UTC).isoformat(),
                "data": state.to_dict(),
            }
        ).encode(),
    )


def client_for(account_id: uuid.UUID | str, role: str = "delegator") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(account_id, role)}")
    return client


def ballot_body(poll: PollReplica, *points: int) -> dict:
    """Points for the poll's causes in order: ballot_body(poll, 10, 0, 5)."""
    return {
        "allocations": [
            {"cause": c, "points": p} for c, p in zip(poll.causes, points, strict=False)
        ]
    }


def cast(voter: Voter, poll: PollReplica, *points: int) -> None:
    """Cast through the service, points for the poll's causes in order: cast(v, poll, 10, 0, 5)."""
    services.ballot_cast(
        voter_id=voter.pk,
        poll_id=poll.pk,
        allocations=[{"cause": c, "points": p} for c, p in zip(poll.causes, points, strict=False)],
    )


def stake_part(
    epoch: int, rows: list[list], *, part: int = 0, parts: int = 1, pool_id: str = "pool1test"
) -> EpochStakePart:
    return EpochStakePart(epoch=epoch, part=part, parts=parts, pool_id=pool_id, rows=rows)


def epoch_stake_message(state: EpochStakePart, version: int = 1) -> IncomingMessage:
    aggregate_id = f"{state.epoch}-{state.part}"
    return IncomingMessage(
        "ACCOUNTS",
        next(_seq),
        f"accounts.epoch_stake.{aggregate_id}",
        json.dumps(
            {
                "id": str(uuid.uuid4()),
                "type": "accounts.epoch_stake.created",
                "schema_version": 1,
                "aggregate_id": aggregate_id,
                "version": version,
                "occurred_at": datetime.now(UTC).isoformat(),
                "data": state.to_dict(),
            }
        ).encode(),
    )
