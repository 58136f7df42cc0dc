"""polls' final results and payout transactions, replicated: full states, each applied only
if newer (`replica_apply`), so a redelivered or reordered event changes nothing."""

from __future__ import annotations

from datetime import datetime

from shared_events.core.consumer.replicas import replica_apply
from shared_events.core.schemas.polls import PayoutState, PollResultState

from ..models import PayoutReplica, PollResultReplica


def poll_result_apply_state(*, state: PollResultState, version: int) -> bool:
    return replica_apply(
        PollResultReplica,
        pk=state.poll_id,
        version=version,
        deleted=state.deleted,
        fields={
            "fund_lovelace": state.fund_lovelace,
            "causes": [c.to_dict() for c in state.causes],
            "ballots": state.ballots,
            "receipts_digest": state.receipts_digest or "",
            "finalized_at": datetime.fromisoformat(state.finalized_at)
            if state.finalized_at
            else None,
        },
    )


def payout_apply_state(*, state: PayoutState, version: int) -> bool:
    return replica_apply(
        PayoutReplica,
        pk=state.id,
        version=version,
        deleted=state.deleted,
        fields={
            "poll_id": state.poll_id,
            "tx_hash": state.tx_hash,
            "status": state.status,
            "verified": state.verified,
            "note": state.note,
            "lines": [line.to_dict() for line in state.lines],
            "confirmations": state.confirmations,
            "explorer_url": state.explorer_url,
            "recorded_at": datetime.fromisoformat(state.recorded_at),
            "confirmed_at": datetime.fromisoformat(state.confirmed_at)
            if state.confirmed_at
            else None,
        },
    )
