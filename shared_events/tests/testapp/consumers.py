from shared_events.consumer.registry import handles
from shared_events.consumer.replicas import replica_apply
from shared_events.schemas import Event

from .events import WidgetState
from .models import WidgetReplica

# Names the handler chokes on: a test adds one to stand for a bug, removes it for the fix.
FAILING_NAMES: set[str] = set()


@handles("testing.widget.created", "testing.widget.updated", "testing.widget.deleted")
def widget_changed(event: Event[WidgetState]) -> None:
    """Version-guarded upsert: a redelivered or older state changes nothing."""
    if event.data.name in FAILING_NAMES:
        raise RuntimeError(f"cannot handle widget named {event.data.name}")
    replica_apply(
        WidgetReplica,
        pk=event.data.id,
        version=event.version,
        deleted=event.data.deleted,
        fields={"name": event.data.name, "color": event.data.color},
    )
