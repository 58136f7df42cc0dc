"""Events voting_service replicates. Each handler calls a version-guarded service function."""

from collections.abc import Sequence

from shared_events.core.consumer.registry import handles
from shared_events.core.schemas import Event
from shared_events.core.schemas.accounts import AccountState, EpochStakePart
from shared_events.core.schemas.polls import CauseState, PayoutState, PollResultState, PollState

from . import services


@handles(
    "accounts.account.created", "accounts.account.updated", "accounts.account.deleted", many=True
)
def accounts_changed(events: Sequence[Event[AccountState]]) -> None:
    """Full states, each applied only if newer: a redelivered or reordered event changes
    nothing. Many at once (one upsert per 500 voters): an epoch's accrual changes them all."""
    services.voters_apply_account_states(states=[(e.data, e.version) for e in events])


@handles("polls.cause.created", "polls.cause.updated", "polls.cause.deleted")
def cause_changed(event: Event[CauseState]) -> None:
    """Full state, applied only if newer: a redelivered or reordered event changes nothing."""
    services.cause_apply_state(state=event.data, version=event.version)


@handles("polls.poll.created", "polls.poll.updated", "polls.poll.deleted")
def poll_changed(event: Event[PollState]) -> None:
    """Full state, applied only if newer; the final tally is written once, so a redelivered
    close publishes nothing new."""
    services.poll_apply_state(state=event.data, version=event.version)


@handles("accounts.epoch_stake.created", "accounts.epoch_stake.updated")
def epoch_stake_part(event: Event[EpochStakePart]) -> None:
    """One part of an epoch's stake distribution, applied only if newer; the epoch's last part
    freezes the power of the polls waiting for it."""
    services.epoch_stake_apply_part(state=event.data, version=event.version)


@handles("polls.result.created", "polls.result.updated", "polls.result.deleted")
def poll_result(event: Event[PollResultState]) -> None:
    """A poll's final results, written once by polls; applied only if newer, so a redelivery
    changes nothing."""
    services.poll_result_apply_state(state=event.data, version=event.version)


@handles("polls.payout.created", "polls.payout.updated", "polls.payout.deleted")
def payout_changed(event: Event[PayoutState]) -> None:
    """Full state of one payout transaction, applied only if newer: a redelivered or reordered
    event changes nothing."""
    services.payout_apply_state(state=event.data, version=event.version)
