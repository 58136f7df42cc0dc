"""The producer-side guarantees: no change without its event, no event without its change."""

import json

import pytest
from django.core import checks
from django.db import connection, models, transaction

from shared_events.core.outbox.models import OutboxEvent
from shared_events.core.outbox.published import PublishedModel
from shared_events.core.outbox.writer import PendingEvent, record_events
from shared_events.core.testing import assert_outbox_covers_published_models
from tests.testapp.events import WidgetState
from tests.testapp.models import Sprocket, Widget

pytestmark = pytest.mark.django_db


def events_for(obj_or_pk) -> list[tuple[str, int, dict]]:
    pk = getattr(obj_or_pk, "pk", obj_or_pk)
    rows = OutboxEvent.objects.filter(aggregate_id=str(pk)).order_by("seq")
    return [(r.event_type, r.aggregate_version, json.loads(bytes(r.payload))["data"]) for r in rows]


def test_create_and_update_write_full_state_events_with_increasing_versions():
    widget = Widget.objects.create(name="gear")
    widget.color = "blue"
    widget.save()
    assert widget.version == 2
    assert events_for(widget) == [
        (
            "testing.widget.created",
            1,
            {"id": str(widget.pk), "name": "gear", "color": "red", "deleted": False},
        ),
        (
            "testing.widget.updated",
            2,
            {"id": str(widget.pk), "name": "gear", "color": "blue", "deleted": False},
        ),
    ]
    row = OutboxEvent.objects.filter(aggregate_id=str(widget.pk)).last()
    assert row.subject == f"testing.widget.{widget.pk}"
    assert json.loads(bytes(row.payload))["id"] == str(row.event_id)


def test_a_rolled_back_transaction_leaves_no_event():
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            Widget.objects.create(name="ghost")
            raise RuntimeError("abort")
    assert not Widget.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_saving_only_private_fields_emits_nothing():
    widget = Widget.objects.create(name="gear")
    widget.note = "internal"
    widget.save(update_fields=["note"])
    assert [e[1] for e in events_for(widget)] == [1]


def test_a_partial_save_publishes_the_row_as_committed_not_a_stale_copy():
    widget = Widget.objects.create(name="gear")
    stale = Widget.objects.get(pk=widget.pk)
    Widget.objects.filter(pk=widget.pk).update(color="green")  # another writer
    stale.name = "cog"
    stale.save(update_fields=["name"])
    assert events_for(widget)[-1][1:] == (
        3,
        {"id": str(widget.pk), "name": "cog", "color": "green", "deleted": False},
    )


def test_queryset_update_emits_one_event_per_row_and_bumps_versions():
    a, b = Widget.objects.create(name="a"), Widget.objects.create(name="b")
    assert Widget.objects.filter(pk__in=[a.pk, b.pk]).update(color="black") == 2
    for widget in (a, b):
        widget.refresh_from_db()
        assert widget.version == 2
        assert events_for(widget)[-1][0:2] == ("testing.widget.updated", 2)
        assert events_for(widget)[-1][2]["color"] == "black"


def test_queryset_update_of_private_fields_only_emits_nothing():
    widget = Widget.objects.create(name="a")
    Widget.objects.filter(pk=widget.pk).update(note="x")
    assert len(events_for(widget)) == 1


def test_bulk_create_and_bulk_update_emit_events():
    widgets = Widget.objects.bulk_create([Widget(name="x"), Widget(name="y")])
    for widget in widgets:
        widget.color = "white"
    Widget.objects.bulk_update(widgets, ["color"])
    for widget in widgets:
        assert [e[:2] for e in events_for(widget)] == [
            ("testing.widget.created", 1),
            ("testing.widget.updated", 2),
        ]
        assert events_for(widget)[-1][2]["color"] == "white"


def test_bulk_create_that_ignores_conflicts_is_refused():
    from django.db import NotSupportedError

    with pytest.raises(NotSupportedError):
        Widget.objects.bulk_create([Widget(name="x")], ignore_conflicts=True)


def test_delete_and_cascades_emit_tombstones():
    widget = Widget.objects.create(name="gear")
    sprocket = Sprocket.objects.create(widget=widget)
    widget_pk, sprocket_pk = widget.pk, sprocket.pk
    widget.delete()  # Django clears pk on delete
    assert events_for(widget_pk)[-1] == (
        "testing.widget.deleted",
        2,
        {"id": str(widget_pk), "name": "gear", "color": "red", "deleted": True},
    )
    assert events_for(sprocket_pk)[-1][:2] == ("testing.sprocket.deleted", 2)


def test_queryset_delete_emits_tombstones():
    widget = Widget.objects.create(name="gear")
    Widget.objects.filter(pk=widget.pk).delete()
    assert events_for(widget)[-1][:2] == ("testing.widget.deleted", 2)


@pytest.mark.django_db(transaction=True)  # the default test wraps everything in a transaction
def test_recording_an_event_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        record_events(
            [
                PendingEvent(
                    "testing.widget.updated", "x", 1, WidgetState(id="x", name="n", color="c")
                )
            ]
        )


def test_recording_the_wrong_payload_class_is_refused():
    from tests.testapp.events import SprocketState

    with transaction.atomic(), pytest.raises(TypeError):
        record_events(
            [
                PendingEvent(
                    "testing.widget.updated", "x", 1, SprocketState(id="x", widget_id="w", teeth=1)
                )
            ]
        )


def test_the_guard_catches_a_change_made_around_the_outbox():
    widget = Widget.objects.create(name="gear")
    assert_outbox_covers_published_models()
    with connection.cursor() as cursor:  # raw SQL: the one way past the model guards
        cursor.execute(f"UPDATE {Widget._meta.db_table} SET version = version + 1")
    with pytest.raises(AssertionError, match=str(widget.pk)):
        assert_outbox_covers_published_models()


def test_a_published_model_with_set_null_fails_the_system_check():
    class Careless(PublishedModel):
        owner = models.ForeignKey(Widget, null=True, on_delete=models.SET_NULL)
        event_aggregate = "testing.careless"
        published_fields = frozenset({"owner"})

        class Meta:
            app_label = "testapp"

    try:
        ids = {e.id for e in Careless.check()}
        assert "shared_events.E002" in ids
    finally:
        from django.apps import apps

        apps.all_models["testapp"].pop("careless", None)
        apps.clear_cache()


def test_the_test_models_pass_the_system_check():
    assert not [e for e in checks.run_checks() if e.id and e.id.startswith("shared_events")]


def test_republish_records_the_current_state_as_a_new_version():
    widget = Widget.objects.create(name="gear")
    widget.republish()
    assert [e[:2] for e in events_for(widget)] == [
        ("testing.widget.created", 1),
        ("testing.widget.updated", 2),
    ]
    assert widget.version == 2
