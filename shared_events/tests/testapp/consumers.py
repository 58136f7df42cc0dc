from collections.abc import Sequence

from shared_events.core.consumer.registry import handles
from shared_events.core.consumer.replicas import ReplicaState, replica_apply, replica_apply_many
from shared_events.core.schemas import Event

from .events import WidgetState
from .models import WidgetReplica

# Names the handler chokes on: a test adds one to stand for a bug, removes it for the fix.
FAILING_NAMES: set[str] = set()
WIDGET_TYPES = ("testing.widget.created", "testing.widget.updated", "testing.widget.deleted")


def _check(event: Event[WidgetState]) -> None:
    if event.data.name in FAILING_NAMES:
        raise RuntimeError(f"cannot handle widget named {event.data.name}")


@handles(*WIDGET_TYPES, many=True)
def widget_changed(events: Sequence[Event[WidgetState]]) -> None:
    """Version-guarded bulk upsert: a redelivered or older state changes nothing."""
    for event in events:
        _check(event)
    replica_apply_many(
        WidgetReplica,
        [
            ReplicaState(
                pk=e.data.id,
                version=e.version,
                deleted=e.data.deleted,
                fields={"name": e.data.name, "color": e.data.color},
            )
            for e in events
        ],
    )


def widget_changed_one(event: Event[WidgetState]) -> None:
    """The same, one event at a time: tests register it instead to cover such handlers."""
    _check(event)
    replica_apply(
        WidgetReplica,
        pk=event.data.id,
        version=event.version,
        deleted=event.data.deleted,
        fields={"name": event.data.name, "color": event.data.color},
    )
