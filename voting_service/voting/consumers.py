"""Events voting_service replicates. Each handler calls a version-guarded service function."""

from shared_events.consumer.registry import handles
from shared_events.schemas import Event
from shared_events.schemas.accounts import AccountState
from shared_events.schemas.polls import CauseState, PollState

from . import services


@handles("accounts.account.created", "accounts.account.updated", "accounts.account.deleted")
def account_changed(event: Event[AccountState]) -> None:
    """Full state, applied only if newer: a redelivered or reordered event changes nothing."""
    services.voter_apply_account_state(state=event.data, version=event.version)


@handles("polls.cause.created", "polls.cause.updated", "polls.cause.deleted")
def cause_changed(event: Event[CauseState]) -> None:
    """Full state, applied only if newer: a redelivered or reordered event changes nothing."""
    services.cause_apply_state(state=event.data, version=event.version)


@handles("polls.poll.created", "polls.poll.updated", "polls.poll.deleted")
def poll_changed(event: Event[PollState]) -> None:
    """Full state, applied only if newer; the final tally is written once, so a redelivered
    close publishes nothing new."""
    services.poll_apply_state(state=event.data, version=event.version)
