"""A request whose database connection was lost answers 503 with Retry-After, never 500.

Such a request may or may not have taken effect (the connection can drop as COMMIT is on its
way), exactly like one that got no answer: a client sends it again after Retry-After. The
broken connection is discarded at once, so the next request connects afresh.

Three ways in, because an error reaches the client by three paths: DRF's exception handler
(`api.exception_handler` calls `unavailable_response` for API views, whose answers DRF
renders), `process_exception` for plain Django views (the admin, pages), and for an error
raised in a middleware (a session read or save), which Django turns into a 500 before any
outer middleware sees it, the `got_request_exception` signal marks the request and the
middleware, the outermost one, replaces that 500."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, TypeGuard

from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse, JsonResponse

from ..core.db_connections import CONNECTION_ERRORS, discard_broken_connections

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1
MESSAGE = "The database is unavailable for a moment; please retry."
_LOST = "_shared_events_database_lost"


def is_database_unavailable(exc: BaseException | None) -> TypeGuard[BaseException]:
    return isinstance(exc, CONNECTION_ERRORS)


def database_lost(exc: BaseException) -> None:
    """Log it (once, as a warning: the client is told to retry) and drop the broken
    connection."""
    log.warning(
        "database unavailable while serving a request (%s: %s); answered 503",
        type(exc).__name__,
        str(exc).strip()[:300],
    )
    discard_broken_connections()


def unavailable_response() -> JsonResponse:
    response = JsonResponse({"detail": MESSAGE}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Under only the metrics and the request id in MIDDLEWARE, so that it sees every other
    middleware's answer (and they see its 503)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, _LOST, False) and response.status_code >= 500:
            return unavailable_response()
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_unavailable(exception):
            return None
        database_lost(exception)
        return unavailable_response()


def _mark_request(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    # Sent inside Django's `except` block, so the exception is the one being handled.
    exc = sys.exc_info()[1]
    if request is not None and is_database_unavailable(exc):
        setattr(request, _LOST, True)
        database_lost(exc)


got_request_exception.connect(_mark_request, dispatch_uid="shared_events.kit.db_unavailable")
