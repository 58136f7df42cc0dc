"""Events accounts_service follows, for its notifications: polls' polls, causes, results and
payouts, and voting's participation (who voted, never how). Each handler calls a
version-guarded service function."""

from shared_events.core.consumer.registry import handles
from shared_events.core.schemas import Event
from shared_events.core.schemas.polls import CauseState, PayoutState, PollResultState, PollState
from shared_events.core.schemas.voting import ParticipationState

from .services import notice_events


@handles("polls.poll.created", "polls.poll.updated", "polls.poll.deleted")
def poll_changed(event: Event[PollState]) -> None:
    """Full state, applied only if newer; a notice round exists once per poll and kind, so a
    redelivered opening or payment plans nothing new."""
    notice_events.notice_poll_apply(state=event.data, version=event.version)


@handles("polls.cause.created", "polls.cause.updated", "polls.cause.deleted")
def cause_changed(event: Event[CauseState]) -> None:
    """Full state, applied only if newer: a redelivered or reordered event changes nothing."""
    notice_events.notice_cause_apply(state=event.data, version=event.version)


@handles("polls.result.created", "polls.result.updated", "polls.result.deleted")
def result_changed(event: Event[PollResultState]) -> None:
    """Full state, applied only if newer; the results round exists once per poll."""
    notice_events.notice_result_apply(state=event.data, version=event.version)


@handles("polls.payout.created", "polls.payout.updated", "polls.payout.deleted")
def payout_changed(event: Event[PayoutState]) -> None:
    """Full state, applied only if newer: a redelivered or reordered event changes nothing."""
    notice_events.notice_payout_apply(state=event.data, version=event.version)


@handles(
    "voting.participation.created", "voting.participation.updated", "voting.participation.deleted"
)
def participation_changed(event: Event[ParticipationState]) -> None:
    """Full state, applied only if newer: a retraction that arrives before the vote it undoes
    is not overwritten by it."""
    notice_events.notice_participation_apply(state=event.data, version=event.version)
