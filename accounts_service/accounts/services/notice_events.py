"""What accounts keeps of polls' and voting's events for its notices, and the notice rounds
they make due. Each apply is version-guarded: a redelivered or reordered event changes
nothing, and a round is created at most once per poll and kind (its unique key)."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.utils import timezone

from shared_events.core.consumer.replicas import replica_apply
from shared_events.core.schemas.polls import (
    CauseState,
    PayoutState,
    PollResultState,
    PollState,
    PollStatus,
)
from shared_events.core.schemas.voting import ParticipationState

from ..models import (
    NoticeCause,
    NoticeKind,
    NoticeParticipation,
    NoticePayout,
    NoticePoll,
    NoticeResult,
)
from .notices import notice_round_due


def notice_poll_apply(*, state: PollState, version: int) -> None:
    applied = replica_apply(
        NoticePoll,
        pk=state.id,
        version=version,
        deleted=state.deleted,
        fields={
            "title": state.title,
            "status": state.status,
            "fund_lovelace": state.fund_lovelace,
            "opens_at": datetime.fromisoformat(state.opens_at),
            "closes_at": datetime.fromisoformat(state.closes_at),
            "causes": list(state.causes),
        },
    )
    if not applied or state.deleted:
        return
    poll_id = uuid.UUID(state.id)
    # A poll seen open only after it closed (a replay) is not news.
    if state.status == PollStatus.OPEN and datetime.fromisoformat(state.closes_at) > timezone.now():
        notice_round_due(poll_id=poll_id, kind=NoticeKind.POLL_OPENED)
    elif state.status == PollStatus.PAID:
        notice_round_due(poll_id=poll_id, kind=NoticeKind.PAID)


def notice_cause_apply(*, state: CauseState, version: int) -> None:
    replica_apply(
        NoticeCause,
        pk=state.id,
        version=version,
        deleted=state.deleted,
        fields={"title": state.title, "url": state.url},
    )


def notice_result_apply(*, state: PollResultState, version: int) -> None:
    applied = replica_apply(
        NoticeResult,
        pk=state.poll_id,
        version=version,
        deleted=state.deleted,
        fields={
            "fund_lovelace": state.fund_lovelace,
            "causes": [c.to_dict() for c in state.causes],
            "ballots": state.ballots,
            "finalized_at": datetime.fromisoformat(state.finalized_at),
        },
    )
    if applied and not state.deleted:
        notice_round_due(poll_id=uuid.UUID(state.poll_id), kind=NoticeKind.RESULTS)


def notice_payout_apply(*, state: PayoutState, version: int) -> None:
    replica_apply(
        NoticePayout,
        pk=state.id,
        version=version,
        deleted=state.deleted,
        fields={
            "poll_id": uuid.UUID(state.poll_id),
            "tx_hash": state.tx_hash,
            "status": state.status,
            "explorer_url": state.explorer_url,
            "lines": [line.to_dict() for line in state.lines],
        },
    )


def notice_participation_apply(*, state: ParticipationState, version: int) -> None:
    replica_apply(
        NoticeParticipation,
        pk=f"{state.poll_id}:{state.account_id}",  # the aggregate id
        version=version,
        deleted=state.deleted,
        fields={
            "poll_id": uuid.UUID(state.poll_id),
            "account_id": uuid.UUID(state.account_id),
            "voted": state.voted and not state.deleted,
        },
    )
