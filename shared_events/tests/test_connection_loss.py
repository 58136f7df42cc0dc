"""A database connection terminated from outside (pg_terminate_backend, as a failover or an
administrator would): requests answer 503 with Retry-After and the next one reconnects, the
relay marks what JetStream acknowledged on a new connection instead of leaving it to the
lease, and the consumer applies its batch on a new connection."""

import json
import threading
import time
import uuid
from datetime import UTC, datetime

import psycopg2
import pytest
from django.db import connection, connections
from django.http import HttpResponse, JsonResponse
from django.test import Client
from django.urls import path
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_events.core.consumer import apply, runner
from shared_events.core.consumer.apply import Action, IncomingMessage
from shared_events.core.outbox import relay
from shared_events.core.outbox.models import OutboxEvent
from shared_events.core.testing import wait_until
from tests.natsutil import stream_messages
from tests.testapp.models import Widget, WidgetReplica

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("terminates PostgreSQL backends")


def terminate_own_backend() -> None:
    """End this thread's database session from another connection, as an operator would, and
    wait until the server has ended it."""
    own = connections["default"]
    own.ensure_connection()
    pid = own.connection.info.backend_pid
    params = own.settings_dict
    admin = psycopg2.connect(
        dbname="postgres",
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=params["PORT"] or None,
    )
    try:
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

            def gone() -> bool:
                cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
                return cursor.fetchone() is None

            wait_until(gone, timeout=10, message="the backend to end")
    finally:
        admin.close()


# -- requests ------------------------------------------------------------------------------


class LosesItsConnectionApi(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    renderer_classes = [JSONRenderer]

    def get(self, request):
        terminate_own_backend()
        return Response({"widgets": Widget.objects.count()})


def loses_its_connection(request):
    terminate_own_backend()
    return HttpResponse(str(Widget.objects.count()))


def fails(request):
    raise ValueError("a bug, not the database")


def counts(request):
    return JsonResponse({"widgets": Widget.objects.count()})


class LosesItsConnectionInAMiddleware:
    """A middleware whose own query fails (a session read, say): Django turns that into a 500
    before the view or any outer middleware sees the exception."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/middleware/":
            terminate_own_backend()
            Widget.objects.count()
        return self.get_response(request)


urlpatterns = [
    path("drf/", LosesItsConnectionApi.as_view()),
    path("plain/", loses_its_connection),
    path("middleware/", counts),
    path("counts/", counts),
    path("fails/", fails),
]


@pytest.fixture
def web(settings):
    settings.ROOT_URLCONF = __name__
    settings.MIDDLEWARE = [
        "shared_events.kit.db_unavailable.DatabaseUnavailableMiddleware",
        *settings.MIDDLEWARE,
        f"{__name__}.LosesItsConnectionInAMiddleware",
    ]
    settings.REST_FRAMEWORK = {"EXCEPTION_HANDLER": "shared_events.kit.api.exception_handler"}
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("where", ["drf", "plain", "middleware"])
def test_a_request_that_lost_its_connection_answers_503_and_the_next_one_reconnects(web, where):
    Widget.objects.create(name="w")
    lost = web.get(f"/{where}/")
    assert lost.status_code == 503, lost.content
    assert lost["Retry-After"] == "1"
    assert "retry" in json.loads(lost.content)["detail"]
    after = web.get("/counts/")
    assert after.status_code == 200 and json.loads(after.content) == {"widgets": 1}


def test_other_errors_are_still_500(web):
    assert web.get("/fails/").status_code == 500
    assert web.get("/counts/").status_code == 200


# -- the relay -----------------------------------------------------------------------------


def lose_the_connection_once(monkeypatch) -> list[str]:
    """At the relay's after-publish point, right after JetStream acknowledged a batch and before
    the rows are marked, the connection of the thread marking them is terminated (once)."""
    lost: list[str] = []

    def terminate_once(alias: str) -> None:
        if not lost:
            lost.append(threading.current_thread().name)
            terminate_own_backend()

    monkeypatch.setattr(relay, "_after_publish", terminate_once)
    return lost


def test_the_relay_marks_on_a_new_connection_when_it_lost_its_own(fresh_streams, monkeypatch):
    widget = Widget.objects.create(name="w")
    lost = lose_the_connection_once(monkeypatch)
    result = relay.relay_batch()
    assert lost and (result.published, result.failed) == (1, 0)
    row = OutboxEvent.objects.get(aggregate_id=str(widget.pk))
    assert row.published_at is not None and row.claim_token is None  # not left to the lease
    assert len(stream_messages(fresh_streams, "TESTING")) == 1


def test_the_relay_marks_a_backlog_on_a_new_connection_in_its_marking_thread(
    fresh_streams, monkeypatch, settings
):
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "RELAY_BATCH_SIZE": 10}
    Widget.objects.bulk_create([Widget(name=f"w{i}") for i in range(50)])
    lost = lose_the_connection_once(monkeypatch)
    result, _ = relay.relay_pending()
    assert lost and (result.published, result.failed) == (50, 0)
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    assert len(stream_messages(fresh_streams, "TESTING")) == 50


def test_the_test_fault_ends_the_session_between_publish_and_mark_and_only_when_set(
    fresh_streams, monkeypatch, settings
):
    """The system test's way to hit that moment every time (tests/system/test_faults.py)."""
    sessions = []
    real_mark = relay._mark

    def mark_and_note_the_session(*args):
        connection.ensure_connection()
        sessions.append(connection.connection)
        return real_mark(*args)

    monkeypatch.setattr(relay, "_mark", mark_and_note_the_session)
    Widget.objects.create(name="w")
    connection.ensure_connection()
    before = connection.connection
    settings.SHARED_EVENTS = {
        **settings.SHARED_EVENTS,
        "RELAY_AFTER_PUBLISH": "shared_events.core.testing.lose_db_connection_after_publish",
    }
    assert relay.relay_batch().published == 1
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    assert len(sessions) == 2 and sessions[0] is before is not sessions[1]  # a new one
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "RELAY_AFTER_PUBLISH": None}
    Widget.objects.create(name="w2")
    sessions.clear()
    assert relay.relay_batch().published == 1 and len(sessions) == 1


def test_the_relay_claims_on_a_new_connection_when_its_own_was_lost(fresh_streams):
    Widget.objects.create(name="w")
    terminate_own_backend()  # between two batches of a long-running relay
    assert relay.relay_batch().published == 1
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()


def test_a_connection_that_still_works_is_not_retried():
    """Only a lost connection is worth another try: a statement's own error is raised."""
    from django.db import OperationalError

    from shared_events.core.db_connections import on_fresh_connection

    calls = []

    def times_out():
        calls.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")

    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 50")
    try:
        with pytest.raises(OperationalError, match="statement timeout"):
            on_fresh_connection(times_out, what="a test")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
    assert len(calls) == 1


# -- the consumer --------------------------------------------------------------------------


def widget_message(widget: str, version: int, name: str) -> IncomingMessage:
    data = json.dumps(
        {
            "id": str(uuid.uuid4()),
            "type": "testing.widget.updated",
            "schema_version": 1,
            "aggregate_id": widget,
            "version": version,
            "occurred_at": datetime.now(UTC).isoformat(),
            "data": {"id": widget, "name": name, "color": "red", "deleted": False},
        }
    ).encode()
    return IncomingMessage("TESTING", version, f"testing.widget.{widget}", data, 1)


def test_the_consumer_applies_a_batch_again_on_a_new_connection(monkeypatch):
    widget = str(uuid.uuid4())
    real_inbox_claim = apply.inbox_claim
    lost: list[bool] = []

    def inbox_claim_losing_the_connection_once(rows, **kwargs):
        if not lost:
            lost.append(True)
            terminate_own_backend()  # in the middle of the batch's transaction
        return real_inbox_claim(rows, **kwargs)

    monkeypatch.setattr(apply, "inbox_claim", inbox_claim_losing_the_connection_once)
    runner._db_state.checked = time.monotonic()  # no start-of-batch check to hide the loss
    outcomes = runner._apply_in_db_thread(
        [widget_message(widget, 1, "gear"), widget_message(widget, 2, "cog")]
    )
    assert lost and [o.action for o in outcomes] == [Action.ACK, Action.ACK]
    assert WidgetReplica.objects.get(pk=widget).name == "cog"
