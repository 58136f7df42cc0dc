"""The request id: taken or made by the web, answered, written into the envelope of the events a
request records, sent by the relay as a NATS header and logged by it, logged by the consumer,
and carried on into the events a handler records."""

import json
import logging
import uuid
from datetime import UTC, datetime

import pytest
from django.http import HttpRequest, JsonResponse
from django.test import Client
from django.urls import path

from shared_events.core.consumer import registry
from shared_events.core.consumer.apply import Action, IncomingMessage, apply_batch
from shared_events.core.log_context import bound, current_ids
from shared_events.core.outbox.models import OutboxEvent
from shared_events.core.outbox.relay import relay_pending
from shared_events.core.schemas import Envelope
from shared_events.kit.logs import ContextFilter
from tests.natsutil import stream_messages
from tests.testapp.models import Widget


def make_widget(request: HttpRequest, poll_id: uuid.UUID | None = None) -> JsonResponse:
    widget = Widget.objects.create(name="made in a request")
    return JsonResponse({"id": str(widget.pk), "ids": dict(current_ids())}, status=201)


urlpatterns = [
    path("widgets/", make_widget),
    path("polls/<uuid:poll_id>/widgets/", make_widget),
]


@pytest.fixture
def web(settings):
    settings.ROOT_URLCONF = __name__
    settings.MIDDLEWARE = ["shared_events.kit.request_id.RequestIdMiddleware"]
    return Client()


def outbox_row(widget_id: str) -> OutboxEvent:
    return OutboxEvent.objects.get(aggregate_id=widget_id)


@pytest.mark.django_db
def test_a_sane_request_id_is_kept_answered_and_written_into_the_event(web, caplog):
    caplog.set_level(logging.INFO, logger="shared_events.kit.request_id")
    caplog.handler.addFilter(ContextFilter("testsvc"))  # as every service's handler has
    response = web.post("/widgets/", headers={"X-Request-ID": "lb-7f3a:2.b_c"})
    assert response.status_code == 201
    assert response["X-Request-ID"] == "lb-7f3a:2.b_c"
    row = outbox_row(response.json()["id"])
    assert row.request_id == "lb-7f3a:2.b_c"
    assert Envelope.from_json(bytes(row.payload)).headers == {"request_id": "lb-7f3a:2.b_c"}
    [line] = [r for r in caplog.records if r.name == "shared_events.kit.request_id"]
    assert line.getMessage() == "POST /widgets/ 201"
    assert line.request_id == "lb-7f3a:2.b_c" and line.duration_ms >= 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sent",
    ["x" * 65, "two words", "<script>", "-starts-with-a-dash", "über", "a/b", "a\tb", ""],
)
def test_a_request_id_that_is_not_sane_is_replaced_by_a_new_one(web, sent):
    response = web.post("/widgets/", headers={"X-Request-ID": sent})
    made = response["X-Request-ID"]
    assert made != sent and len(made) == 32 and made.isalnum()
    assert outbox_row(response.json()["id"]).request_id == made


@pytest.mark.django_db
def test_the_requests_line_cannot_be_split_by_its_path_and_leaves_out_the_query(web, caplog):
    caplog.set_level(logging.INFO, logger="shared_events.kit.request_id")
    web.post("/widgets/%0Aforged%20line?token=secret")
    [line] = [r.getMessage() for r in caplog.records if r.name == "shared_events.kit.request_id"]
    assert line == "POST /widgets/%0Aforged%20line 404"


@pytest.mark.django_db
def test_without_a_header_each_request_gets_an_id_of_its_own(web):
    first, second = web.post("/widgets/"), web.post("/widgets/")
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert current_ids() == {}  # nothing outlives the request


@pytest.mark.django_db
def test_the_poll_a_url_names_is_on_the_requests_lines(web):
    poll = uuid.uuid4()
    response = web.post(f"/polls/{poll}/widgets/", headers={"X-Request-ID": "r-poll"})
    assert response.json()["ids"] == {"request_id": "r-poll", "poll_id": str(poll)}


@pytest.mark.django_db
def test_an_event_of_no_request_has_no_headers():
    widget = Widget.objects.create(name="from a command")
    row = outbox_row(str(widget.pk))
    assert row.request_id == ""
    assert b'"headers"' not in bytes(row.payload)  # the bytes of before: nothing added


# -- the envelope ---------------------------------------------------------------------------


def envelope_doc(**extra) -> dict:
    widget = str(uuid.uuid4())
    return {
        "id": str(uuid.uuid4()),
        "type": "testing.widget.created",
        "schema_version": 1,
        "aggregate_id": widget,
        "version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": {"id": widget, "name": "gear", "color": "red", "deleted": False},
        **extra,
    }


def test_an_envelope_from_before_headers_decodes_as_before():
    envelope = Envelope.from_json(json.dumps(envelope_doc()).encode())
    assert envelope.headers is None
    assert b"headers" not in envelope.to_json()


def test_headers_travel_with_the_envelope():
    raw = json.dumps(envelope_doc(headers={"request_id": "r-1", "traceparent": "00-ab"}))
    envelope = Envelope.from_json(raw.encode())
    assert envelope.headers == {"request_id": "r-1", "traceparent": "00-ab"}
    assert Envelope.from_json(envelope.to_json()) == envelope


@pytest.mark.parametrize("headers", [["request_id"], "r-1", {"request_id": 7}, {}, None])
def test_malformed_headers_are_dropped_not_a_poison_message(headers):
    envelope = Envelope.from_json(json.dumps(envelope_doc(headers=headers)).encode())
    assert envelope.headers is None
    assert envelope.data["name"] == "gear"


# -- relay and consumer ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_relay_sends_the_request_id_as_a_nats_header_and_logs_it(fresh_streams, caplog):
    caplog.set_level(logging.INFO, logger="shared_events.core.outbox.relay")
    with bound(request_id="r-relay"):
        traced = Widget.objects.create(name="traced")
    untraced = Widget.objects.create(name="untraced")
    assert relay_pending()[0].published == 2

    messages = {m["subject"]: m for m in stream_messages(fresh_streams, "TESTING")}
    sent = messages[f"testing.widget.{traced.pk}"]
    assert sent["headers"]["X-Request-ID"] == "r-relay"
    assert sent["envelope"]["headers"] == {"request_id": "r-relay"}
    assert "X-Request-ID" not in messages[f"testing.widget.{untraced.pk}"]["headers"]

    # One line, for the event a request caused; none for the other.
    [line] = [r for r in caplog.records if r.name == "shared_events.core.outbox.relay"]
    assert line.request_id == "r-relay"
    assert line.event_id == sent["envelope"]["id"]
    assert line.getMessage() == f"published testing.widget.created {line.event_id}"


def incoming(doc: dict) -> IncomingMessage:
    return IncomingMessage("TESTING", 1, f"testing.widget.{doc['aggregate_id']}", _raw(doc))


def _raw(doc: dict) -> bytes:
    return json.dumps(doc).encode()


@pytest.mark.django_db
def test_the_consumer_logs_the_request_id_and_a_handler_carries_it_on(monkeypatch, caplog):
    """A handler that records an event of its own (as voting's close writes the final tally):
    that event carries the request id of the one it handled, so a chain keeps it."""
    recorded: list[str] = []

    def handler(event) -> None:
        recorded.append(str(Widget.objects.create(name=f"follows {event.data.name}").pk))

    monkeypatch.setitem(registry._handlers, "testing.widget.created", handler)
    monkeypatch.setattr(registry, "_many", registry._many - {"testing.widget.created"})
    caplog.set_level(logging.INFO, logger="shared_events.core.consumer.apply")

    traced = envelope_doc(headers={"request_id": "r-chain"})
    untraced = envelope_doc()
    outcomes = apply_batch([incoming(traced), incoming(untraced)])
    assert [o.action for o in outcomes] == [Action.ACK, Action.ACK]

    assert [outbox_row(w).request_id for w in recorded] == ["r-chain", ""]
    [line] = [r for r in caplog.records if r.getMessage().startswith("applied")]
    assert (line.request_id, line.event_id) == ("r-chain", traced["id"])
    assert line.getMessage() == f"applied testing.widget.created {traced['id']} v1"
    assert current_ids() == {}
