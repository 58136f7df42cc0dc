"""Consumer guarantees: applying, deduplicating, version-guarding and dead-lettering."""

import json
import random
import uuid
from datetime import UTC, datetime

import pytest
from django.db import DataError, connection, transaction

from shared_events.core.consumer import registry
from shared_events.core.consumer.apply import (
    Action,
    IncomingMessage,
    ReplayError,
    apply_batch,
    replay_dead_letter,
)
from shared_events.core.consumer.models import DeadLetter, ProcessedEvent
from shared_events.core.consumer.replicas import ReplicaState, replica_apply_many
from tests.testapp import consumers
from tests.testapp.models import WidgetReplica

pytestmark = pytest.mark.django_db

WIDGET = str(uuid.uuid4())


def widget_event(
    version: int,
    *,
    name: str = "gear",
    color: str = "red",
    deleted: bool = False,
    verb: str = "updated",
    event_id: str | None = None,
    widget: str = WIDGET,
) -> bytes:
    return json.dumps(
        {
            "id": event_id or str(uuid.uuid4()),
            "type": f"testing.widget.{verb}",
            "schema_version": 1,
            "aggregate_id": widget,
            "version": version,
            "occurred_at": datetime.now(UTC).isoformat(),
            "data": {"id": widget, "name": name, "color": color, "deleted": deleted},
        }
    ).encode()


_seq = iter(range(1, 10**9))


def msg(data: bytes, delivered: int = 1) -> IncomingMessage:
    return IncomingMessage("TESTING", next(_seq), f"testing.widget.{WIDGET}", data, delivered)


@pytest.fixture(autouse=True, params=["list handler", "one-event handler"])
def handler_kind(request, monkeypatch):
    """Every test runs with the widget handler taking lists (applied a run at a time) and with
    one that takes a single event (the consumer's other kind)."""
    if request.param == "one-event handler":
        for name in consumers.WIDGET_TYPES:
            monkeypatch.setitem(registry._handlers, name, consumers.widget_changed_one)
        monkeypatch.setattr(registry, "_many", registry._many - set(consumers.WIDGET_TYPES))
    return request.param


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
    outcomes = apply_batch(
        [
            msg(widget_event(1, name="bad")),
            msg(widget_event(1, name="fine", widget=other)),
        ]
    )
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


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe garbage",
        b'{"id": "x"}',
        json.dumps(
            {
                "id": str(uuid.uuid4()),
                "type": "testing.unheard.of",
                "schema_version": 1,
                "aggregate_id": "a",
                "version": 1,
                "occurred_at": "2026-01-01T00:00:00+00:00",
                "data": {},
            }
        ).encode(),
        b"{" + b" " * 600_000 + b"}",
    ],
)
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
    response = admin_client.post(
        "/admin/shared_events/deadletter/",
        {"action": "replay", "_selected_action": [dead.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert DeadLetter.objects.get().status == DeadLetter.Status.REPLAYED
    assert WidgetReplica.objects.filter(pk=WIDGET).exists()


def test_a_batch_applies_many_aggregates_and_the_newest_state_of_each():
    others = [str(uuid.uuid4()) for _ in range(3)]
    batch = [msg(widget_event(v, color=f"c{v}", widget=w)) for v in (2, 1, 3) for w in others]
    outcomes = apply_batch(batch)
    assert [o.action for o in outcomes] == [Action.ACK] * 9
    assert {(str(r.pk), r.color, r.source_version) for r in WidgetReplica.objects.all()} == {
        (w, "c3", 3) for w in others
    }
    assert ProcessedEvent.objects.count() == 9


def test_superseded_states_in_shuffled_batches_with_copies_converge_and_every_id_is_kept():
    """A catch-up's backlog: several states of each widget, in batches where one state of a
    widget supersedes another, shuffled, with copies of some events in the same batch and in
    later ones, and some events again after they committed (a lost ack). Each replica ends on
    its newest state, every event id is in the inbox once, and every copy is a duplicate."""
    rng = random.Random(20)
    widgets = [str(uuid.uuid4()) for _ in range(30)]
    states = {
        (w, v): widget_event(v, name=f"v{v}", color=f"c{i}", widget=w, event_id=str(uuid.uuid4()))
        for i, w in enumerate(widgets)
        for v in (1, 2, 3)
    }
    backlog = list(states.values())
    rng.shuffle(backlog)
    backlog += rng.sample(backlog, 25)  # copies, some in the same batch as their first
    rng.shuffle(backlog)
    applied = duplicates = 0
    for start in range(0, len(backlog), 40):
        for outcome in apply_batch([msg(raw) for raw in backlog[start : start + 40]]):
            assert outcome.action is Action.ACK
            applied += outcome.note == ""
            duplicates += outcome.note == "duplicate"
    again = apply_batch([msg(raw) for raw in rng.sample(backlog, 30)])
    assert (applied, duplicates) == (len(states), 25)
    assert {o.note for o in again} == {"duplicate"}
    replicas = {str(r.pk): r for r in WidgetReplica.objects.all()}
    assert {w: (r.source_version, r.name) for w, r in replicas.items()} == {
        w: (3, "v3") for w in widgets
    }
    assert sorted(str(i) for i in ProcessedEvent.objects.values_list("event_id", flat=True)) == (
        sorted(json.loads(raw)["id"] for raw in states.values())
    )


def test_a_poison_message_in_a_batch_fails_alone_and_its_duplicate_with_it():
    consumers.FAILING_NAMES.add("bad")
    good, bad = widget_event(1, widget=str(uuid.uuid4())), widget_event(1, name="bad")
    outcomes = apply_batch([msg(good), msg(bad), msg(bad)])
    assert [o.action for o in outcomes] == [Action.ACK, Action.NAK, Action.NAK]
    assert WidgetReplica.objects.count() == 1 and ProcessedEvent.objects.count() == 1


def test_replica_apply_many_stores_only_newer_states_and_returns_which():
    a, b, c = (str(uuid.uuid4()) for _ in range(3))

    def state(pk, version, color="red", deleted=False):
        return ReplicaState(
            pk=pk, version=version, deleted=deleted, fields={"name": "w", "color": color}
        )

    assert replica_apply_many(WidgetReplica, [state(a, 2, "blue"), state(b, 1)]) == {
        uuid.UUID(a),
        uuid.UUID(b),
    }
    # a: older (no effect); b: newer twice in one call (the newest wins); c: new, a tombstone.
    stored = replica_apply_many(
        WidgetReplica,
        [
            state(a, 1, "stale"),
            state(b, 3, "green"),
            state(b, 2, "older"),
            state(c, 4, deleted=True),
        ],
    )
    assert stored == {uuid.UUID(b), uuid.UUID(c)}
    rows = {
        str(r.pk): (r.color, r.source_version, r.is_deleted) for r in WidgetReplica.objects.all()
    }
    assert rows == {a: ("blue", 2, False), b: ("green", 3, False), c: ("red", 4, True)}
    assert replica_apply_many(WidgetReplica, []) == set()


def test_replica_apply_many_refuses_a_value_too_long_for_its_column_instead_of_cutting_it():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not enforce a column's length")
    long = ReplicaState(
        pk=uuid.uuid4(), version=1, deleted=False, fields={"name": "w", "color": "x" * 21}
    )  # the column holds 20
    with pytest.raises(DataError), transaction.atomic():
        replica_apply_many(WidgetReplica, [long])
    assert not WidgetReplica.objects.exists()


def test_the_inbox_row_commits_with_the_change_or_neither_does(monkeypatch):
    from shared_events.core.consumer import apply

    def inbox_lost(*args, **kwargs):
        raise DataError("the inbox insert failed")

    # Both ways the inbox is written: with the change (claiming, PostgreSQL) and after it.
    monkeypatch.setattr(apply, "inbox_claim", inbox_lost)
    monkeypatch.setattr(apply, "inbox_record", inbox_lost)
    with pytest.raises(DataError):
        apply_batch([msg(widget_event(1, verb="created"))])
    # The change went with the inbox row: applying the redelivery is not a no-op.
    assert not WidgetReplica.objects.exists() and not ProcessedEvent.objects.exists()
    monkeypatch.undo()
    raw = widget_event(2, color="blue")
    assert [o.action for o in apply_batch([msg(raw)])] == [Action.ACK]
    assert [o.note for o in apply_batch([msg(raw)])] == ["duplicate"]
    replica = WidgetReplica.objects.get()
    assert (replica.color, replica.source_version) == ("blue", 2)
    assert ProcessedEvent.objects.count() == 1


def test_a_decoded_event_is_the_same_as_one_made_in_code():
    """The decoder builds events without their dataclasses' __init__: they must still compare,
    hash, refuse changes and fill defaults as ones made in code, and the payload's own checks
    still run."""
    import dataclasses

    from shared_events.core.schemas import decode
    from shared_events.core.schemas.accounts import EpochStakePart
    from shared_events.core.schemas.base import EventDecodeError
    from tests.testapp.events import WidgetState

    event = decode(widget_event(4, color="blue"))
    assert event.envelope == dataclasses.replace(event.envelope)
    made = WidgetState(id=WIDGET, name="gear", color="blue")
    assert event.data == made and hash(event.data) == hash(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.data.color = "red"  # type: ignore[misc]
    without_default = WidgetState.from_dict({"id": WIDGET, "name": "gear", "color": "blue"})
    assert without_default == made and without_default.deleted is False
    with pytest.raises(EventDecodeError, match="part 3 of 2"):
        EpochStakePart.from_dict({"epoch": 1, "part": 3, "parts": 2, "pool_id": "p", "rows": []})
