"""Consumer guarantees: applying, deduplicating, version-guarding and dead-lettering."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from shared_events.consumer.apply import (
    Action, IncomingMessage, ReplayError, apply_batch, replay_dead_letter)
from shared_events.consumer.models import DeadLetter, ProcessedEvent
from tests.testapp import consumers
from tests.testapp.models import WidgetReplica

pytestmark = pytest.mark.django_db

WIDGET = str(uuid.uuid4())


def widget_event(version: int, *, name: str = "gear", color: str = "red", deleted: bool = False,
                 verb: str = "updated", event_id: str | None = None, widget: str = WIDGET
                 ) -> bytes:
    return json.dumps({
        "id": event_id or str(uuid.uuid4()), "type": f"testing.widget.{verb}",
        "schema_version": 1, "aggregate_id": widget, "version": version,
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": {"id": widget, "name": name, "color": color, "deleted": deleted},
    }).encode()


_seq = iter(range(1, 10**9))


def msg(data: bytes, delivered: int = 1) -> IncomingMessage:
    return IncomingMessage("TESTING", next(_seq), f"testing.widget.{WIDGET}", data, delivered)


@pytest.fixture(autouse=True)
def no_failing_names():
    consumers.FAILING_NAMES.clear()
    yield
    consumers.FAILING_NAMES.clear()


def test_the_same_event_twice_has_one_effect():
    raw = widget_event(1, verb="created")
    first = apply_batch([msg(raw), msg(raw)])  # twice in one batch
    second = apply_batch([msg(raw)])  # and again later
    assert [o.action for o in first + second] == [Action.ACK] * 3
    assert [o.note for o in first + second] == ["", "duplicate", "duplicate"]
    assert ProcessedEvent.objects.count() == 1
    assert WidgetReplica.objects.get().source_version == 1


def test_an_older_state_after_a_newer_one_has_no_effect():
    apply_batch([msg(widget_event(3, color="blue"))])
    apply_batch([msg(widget_event(2, color="stale"))])
    replica = WidgetReplica.objects.get()
    assert (replica.color, replica.source_version) == ("blue", 3)


def test_states_applied_out_of_order_converge_on_the_newest():
    events = [widget_event(v, color=f"c{v}") for v in range(1, 8)]
    apply_batch([msg(e) for e in reversed(events)])
    replica = WidgetReplica.objects.get()
    assert (replica.color, replica.source_version) == ("c7", 7)


def test_a_deletion_is_a_tombstone_that_an_older_state_cannot_undo():
    apply_batch([msg(widget_event(2, deleted=True, verb="deleted"))])
    apply_batch([msg(widget_event(1, verb="created"))])
    replica = WidgetReplica.objects.get()
    assert replica.is_deleted and replica.source_version == 2


def test_a_failing_handler_is_retried_with_backoff_and_others_still_apply():
    consumers.FAILING_NAMES.add("bad")
    other = str(uuid.uuid4())
    outcomes = apply_batch([
        msg(widget_event(1, name="bad")),
        msg(widget_event(1, name="fine", widget=other)),
    ])
    assert [o.action for o in outcomes] == [Action.NAK, Action.ACK]
    assert outcomes[0].delay > 0
    assert WidgetReplica.objects.filter(pk=other).exists()
    assert not WidgetReplica.objects.filter(pk=WIDGET).exists()  # rolled back, nothing half-done
    assert ProcessedEvent.objects.count() == 1


def test_after_the_last_delivery_it_is_dead_lettered_and_replayable_once_fixed():
    consumers.FAILING_NAMES.add("bad")
    raw = widget_event(1, name="bad")
    [outcome] = apply_batch([msg(raw, delivered=3)])  # CONSUMER_MAX_DELIVERIES is 3 in tests
    assert outcome.action is Action.TERM
    dead = DeadLetter.objects.get()
    assert dead.status == DeadLetter.Status.DEAD and "cannot handle" in dead.error
    assert str(dead.event_id) == json.loads(raw)["id"]

    with pytest.raises(ReplayError, match="cannot handle"):
        replay_dead_letter(dead)  # the bug is still there
    consumers.FAILING_NAMES.clear()  # the fix is deployed
    assert replay_dead_letter(DeadLetter.objects.get()) == "applied"
    assert WidgetReplica.objects.get().name == "bad"
    assert DeadLetter.objects.get().status == DeadLetter.Status.REPLAYED
    with pytest.raises(ReplayError, match="already replayed"):
        replay_dead_letter(DeadLetter.objects.get())


@pytest.mark.parametrize("raw", [
    b"\xff\xfe garbage",
    b'{"id": "x"}',
    json.dumps({"id": str(uuid.uuid4()), "type": "testing.unheard.of", "schema_version": 1,
                "aggregate_id": "a", "version": 1, "occurred_at": "2026-01-01T00:00:00+00:00",
                "data": {}}).encode(),
    b"{" + b" " * 600_000 + b"}",
])
def test_malformed_unknown_or_oversized_events_are_dead_lettered_at_once(raw):
    [outcome] = apply_batch([msg(raw)])
    assert outcome.action is Action.TERM
    assert DeadLetter.objects.get().payload_text()[:10] == raw[:10].decode(errors="replace")


def test_the_admin_lists_and_replays_dead_letters(admin_client):
    consumers.FAILING_NAMES.add("bad")
    apply_batch([msg(widget_event(1, name="bad"), delivered=3)])
    dead = DeadLetter.objects.get()
    page = admin_client.get("/admin/shared_events/deadletter/")
    assert page.status_code == 200 and b"testing.widget.updated" in page.content
    consumers.FAILING_NAMES.clear()
    response = admin_client.post("/admin/shared_events/deadletter/", {
        "action": "replay", "_selected_action": [dead.pk]}, follow=True)
    assert response.status_code == 200
    assert DeadLetter.objects.get().status == DeadLetter.Status.REPLAYED
    assert WidgetReplica.objects.filter(pk=WIDGET).exists()
