"""Every process's log lines: one JSON object per line in deployments (`LOG_FORMAT=json`),
a readable line otherwise (`manage_all.py up`, the tests), each with the service, the role of
the process (web, worker, beat, consumer) and the ids in play (`core.log_context`).

The JSON comes from python-json-logger, a formatter of the standard `logging` package, so
Django's, Celery's, gunicorn's and nats-py's own lines come out the same way as ours.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from ..core.log_context import LOG_IDS, current_ids

LOG_FORMATS = ("text", "json")


def process_role(argv: Sequence[str] | None = None) -> str:
    """What this process is, from how it was started: `web` (gunicorn, runserver), `worker` and
    `beat` (Celery), `consumer` (`manage.py consume_events`), else the command's name."""
    args = list(sys.argv if argv is None else argv) or [""]
    program = args[0]
    if program.endswith("__main__.py"):  # python -m gunicorn, python -m celery
        program = os.path.dirname(program)
    program = os.path.basename(program)
    if "gunicorn" in program or "runserver" in args[1:2]:
        return "web"
    if "celery" in program:
        return next((a for a in args[1:] if a in ("worker", "beat")), "celery")
    if len(args) > 1 and args[1] == "consume_events":
        return "consumer"
    if "pytest" in program:
        return "test"
    if program == "manage.py" and len(args) > 1:
        return args[1]
    return program if program and not program.startswith("-") else "python"  # python -c


class ContextFilter(logging.Filter):
    """Puts the service, the role and the ids bound now on every record (an id given by the
    line itself, in `extra`, wins: the relay's line about an event names that event's request,
    not the one of the task that runs the relay)."""

    def __init__(self, service: str = "", role: str = "") -> None:
        super().__init__()
        self.service, self.role = service, role or process_role()

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.role = self.role
        for name, value in current_ids().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class TextFormatter(logging.Formatter):
    """`time LEVEL service/role logger: message [request_id=… event_id=…]`, for a person
    reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(service)s/%(role)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [f"{n}={getattr(record, n)}" for n in LOG_IDS if getattr(record, n, None)]
        if not ids:
            return line
        head, sep, rest = line.partition("\n")  # a traceback goes after the ids
        return f"{head} [{' '.join(ids)}]{sep}{rest}"


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: time (UTC, ISO 8601), level, service, role, logger, message,
    the ids in play, and whatever else a line passed in `extra` (event_type, say)."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(service)s %(role)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def logging_config(*, service: str, level: str, log_format: str) -> dict[str, Any]:
    """Django's LOGGING for a service's process."""
    if log_format not in LOG_FORMATS:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"LOG_FORMAT={log_format!r} is neither text nor json")
    formatter = JsonLineFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter, "service": service}},
        "formatters": {log_format: {"()": formatter}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
    }


def gunicorn_logconfig(service: str) -> dict[str, Any]:
    """gunicorn's `logconfig_dict` (`gunicorn_conf`): its own lines (start,
    workers, timeouts) the same way as the service's. No access log: the request id middleware
    writes a line per request, with its ids."""
    config = logging_config(
        service=service,
        level=os.environ.get("LOG_LEVEL") or "INFO",
        log_format=os.environ.get("LOG_FORMAT") or "text",
    )
    config["loggers"] = {
        name: {"level": "INFO", "handlers": [], "propagate": True}
        for name in ("gunicorn.error", "gunicorn.access")
    }
    return config
