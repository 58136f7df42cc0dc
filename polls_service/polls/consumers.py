"""Events polls_service replicates. Each handler calls a version-guarded service function."""

from collections.abc import Sequence

from shared_events.core.consumer.registry import handles
from shared_events.core.schemas import Event
from shared_events.core.schemas.accounts import AccountState
from shared_events.core.schemas.voting import TallyState

from . import services


@handles("voting.tally.created", "voting.tally.updated", "voting.tally.deleted")
def tally_changed(event: Event[TallyState]) -> None:
    """Full state, applied only if newer, and a poll is finalized only from closed: a
    redelivered or reordered tally changes nothing."""
    services.tally_apply_state(state=event.data, version=event.version)


@handles(
    "accounts.account.created", "accounts.account.updated", "accounts.account.deleted", many=True
)
def accounts_changed(events: Sequence[Event[AccountState]]) -> None:
    """Role and active flag, for operator rights: full states, each applied only if newer, many
    at once (an epoch's accrual changes every account)."""
    services.accounts_apply_states(states=[(e.data, e.version) for e in events])
