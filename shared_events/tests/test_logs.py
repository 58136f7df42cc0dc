"""The log lines: JSON or text, the service, the role and the ids in play on each."""

import io
import json
import logging
import logging.config
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured

from shared_events.core import celery_app
from shared_events.core.log_context import bind, bound, current_ids, current_request_id
from shared_events.kit.logs import gunicorn_logconfig, logging_config, process_role


@pytest.fixture
def emit():
    """Configures logging as a service does (into a buffer), returns a logger and the lines
    written; restores the test run's own logging afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level

    def configure(log_format: str) -> tuple[logging.Logger, io.StringIO]:
        config = logging_config(service="accounts", level="INFO", log_format=log_format)
        buffer = io.StringIO()
        config["handlers"]["console"]["stream"] = buffer
        logging.config.dictConfig(config)
        return logging.getLogger("tests.logs"), buffer

    yield configure
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def test_a_json_line_is_one_object_with_the_service_role_and_ids(emit):
    log, out = emit("json")
    log.info("outside any request")
    with bound(request_id="req-1", account_id="acc-1"):
        bind(poll_id="poll-1")
        log.info("a %s line", "formatted", extra={"event_type": "accounts.account.created"})
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            log.exception("it failed")
    lines = out.getvalue().splitlines()
    assert len(lines) == 3  # the traceback's newlines are escaped inside its line
    plain, line, failed = (json.loads(raw) for raw in lines)
    assert plain["message"] == "outside any request" and "request_id" not in plain
    assert line["message"] == "a formatted line"
    assert (line["level"], line["service"], line["role"], line["logger"]) == (
        "INFO",
        "accounts",
        "test",
        "tests.logs",
    )
    assert line["time"].endswith("+00:00") and "T" in line["time"]
    assert (line["request_id"], line["account_id"], line["poll_id"]) == ("req-1", "acc-1", "poll-1")
    assert line["event_type"] == "accounts.account.created"
    assert failed["level"] == "ERROR" and "ValueError: boom" in failed["exc_info"]


def test_a_text_line_reads_as_a_sentence_with_the_ids_after_it(emit):
    log, out = emit("text")
    with bound(request_id="req-2"):
        log.warning("relay: %d events not published yet", 3)
    [line] = out.getvalue().splitlines()
    assert line.endswith(
        "WARNING accounts/test tests.logs: relay: 3 events not published yet [request_id=req-2]"
    )


def test_an_id_a_line_gives_wins_over_the_one_bound(emit):
    """The relay runs in a task; its line about an event names the event's own request."""
    log, out = emit("json")
    with bound(request_id="the-task"):
        log.info("published", extra={"request_id": "the-event", "event_id": "e-1"})
    line = json.loads(out.getvalue())
    assert (line["request_id"], line["event_id"]) == ("the-event", "e-1")


def test_an_unknown_log_format_stops_the_service():
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT"):
        logging_config(service="accounts", level="INFO", log_format="xml")


def test_gunicorns_settings_name_the_service_of_the_folder_it_runs_in(monkeypatch):
    import importlib

    from shared_events.kit import gunicorn_conf

    monkeypatch.chdir(Path(__file__).parents[2] / "polls_service")
    monkeypatch.setenv("LOG_FORMAT", "json")
    config = importlib.reload(gunicorn_conf).logconfig_dict
    assert config["filters"]["context"]["service"] == "polls"
    assert config["handlers"]["console"]["formatter"] == "json"


def test_gunicorns_own_lines_go_through_the_services_handler(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "json")
    config = gunicorn_logconfig("voting")
    assert config["filters"]["context"]["service"] == "voting"
    assert config["handlers"]["console"]["formatter"] == "json"
    assert config["loggers"]["gunicorn.error"] == {
        "level": "INFO",
        "handlers": [],
        "propagate": True,
    }


@pytest.mark.parametrize(
    ("argv", "role"),
    [
        (["/venv/lib/gunicorn/__main__.py", "config.wsgi:application"], "web"),
        (["/venv/bin/gunicorn", "config.wsgi:application"], "web"),
        (["manage.py", "runserver"], "web"),
        (["/venv/lib/celery/__main__.py", "-A", "config", "worker", "--pool", "threads"], "worker"),
        (["/venv/lib/celery/__main__.py", "-A", "config", "beat"], "beat"),
        (["manage.py", "consume_events"], "consumer"),
        (["manage.py", "migrate", "--noinput"], "migrate"),
        (["-c"], "python"),
    ],
)
def test_the_role_comes_from_how_the_process_was_started(argv, role):
    assert process_role(argv) == role


def test_binding_outside_a_request_leaves_nothing_behind():
    bind(account_id="stray")  # a DRF authentication with no request id middleware around it
    assert current_ids() == {}
    with bound(request_id="r"):
        bind(account_id="a")
        assert current_ids() == {"request_id": "r", "account_id": "a"}
    assert current_ids() == {}


def test_a_celery_task_sent_in_a_request_carries_its_id_and_binds_it_while_it_runs():
    headers: dict = {}
    celery_app._send_request_id(headers=headers)
    assert headers == {}  # no request in play: nothing sent
    with bound(request_id="req-3"):
        celery_app._send_request_id(headers=headers)
    assert headers == {"request_id": "req-3"}

    # What the worker's task.request holds: the message's headers (Celery's Context.get).
    task = SimpleNamespace(request=SimpleNamespace(get=headers.get))
    celery_app._bind_request_id(task_id="t-1", task=task)
    assert current_request_id() == "req-3"
    celery_app._unbind_request_id(task_id="t-1")
    assert current_request_id() is None
