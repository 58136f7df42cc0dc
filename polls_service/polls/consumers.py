"""Events polls_service replicates. Each handler calls a version-guarded service function."""

from shared_events.consumer.registry import handles
from shared_events.schemas import Event
from shared_events.schemas.voting import TallyState

from . import services


@handles("voting.tally.created", "voting.tally.updated", "voting.tally.deleted")
def tally_changed(event: Event[TallyState]) -> None:
    """Full state, applied only if newer, and a poll is finalized only from closed: a
    redelivered or reordered tally changes nothing."""
    services.tally_apply_state(state=event.data, version=event.version)
