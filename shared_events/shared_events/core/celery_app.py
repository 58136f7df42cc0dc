"""One Celery app per service, configured the same way everywhere."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from celery import Celery, bootsteps, signals

from .celery_liveness import install as install_liveness
from .log_context import bound, current_request_id
from .role_threads import install as install_role_threads

# The Celery message header that carries the request id of the request that sent a task.
TASK_REQUEST_ID_HEADER = "request_id"


def beat_schedule() -> dict[str, dict]:
    return {
        # The safety net under the on-commit kick: anything a kick missed goes within a second.
        "relay-outbox-sweep": {
            "task": "shared_events.relay_outbox",
            "schedule": 1.0,
            "options": {"expires": 5},
        },
        "purge-outbox": {"task": "shared_events.purge_outbox", "schedule": 3600.0},
        "purge-inbox": {"task": "shared_events.purge_inbox", "schedule": 3600.0},
    }


def make_celery_app(service: str, settings_module: str = "config.settings") -> Celery:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    app = Celery(service)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.autodiscover_tasks()
    install_liveness(app)
    app.steps["worker"].add(RelayLoopStep)
    install_role_threads(app)  # --beat-thread, --consumer-thread
    return app


class RelayLoopStep(bootsteps.StartStopStep):
    """The worker runs the relay loop that commits wake (`outbox/listen.py`), on PostgreSQL.
    Elsewhere, and with `RELAY_LISTEN` off, commits kick relay tasks instead."""

    label = "relay loop"

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.loop: Any = None

    def start(self, worker: Any) -> None:
        from . import conf
        from .outbox.listen import RelayLoop, listening, outbox_alias

        if conf.get("PRODUCES") and listening(outbox_alias()):
            self.loop = RelayLoop().start()

    def stop(self, worker: Any) -> None:
        if self.loop is not None:
            self.loop.stop()
            self.loop = None


@signals.before_task_publish.connect(dispatch_uid="shared_events.request_id.send")
def _send_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """A task sent while handling a request carries its id (one header, nothing to look up)."""
    request_id = current_request_id()
    if request_id and headers is not None:
        headers.setdefault(TASK_REQUEST_ID_HEADER, request_id)


_task_ids: dict[str, contextlib.ExitStack] = {}


@signals.task_prerun.connect(dispatch_uid="shared_events.request_id.bind")
def _bind_request_id(task_id: str = "", task: Any = None, **_: Any) -> None:
    request_id = task.request.get(TASK_REQUEST_ID_HEADER) if task is not None else None
    if request_id:
        stack = contextlib.ExitStack()
        stack.enter_context(bound(request_id=str(request_id)))
        _task_ids[task_id] = stack


@signals.task_postrun.connect(dispatch_uid="shared_events.request_id.unbind")
def _unbind_request_id(task_id: str = "", **_: Any) -> None:
    stack = _task_ids.pop(task_id, None)
    if stack is not None:
        stack.close()
