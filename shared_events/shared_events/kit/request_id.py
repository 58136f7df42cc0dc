"""The request id: the caller's `X-Request-ID` when it is sane, else a new one; answered in the
same header, bound for the request's log lines (`core.log_context`), written into the
envelope of every event the request records, and logged once with the request's outcome."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path

from ..core.log_context import bind, bound, sane_request_id

HEADER = "X-Request-ID"

log = logging.getLogger(__name__)


class RequestIdMiddleware:
    """First in the chain, so every line of the request (a 503 of a lost database included)
    carries the id. A header that is too long or holds anything but letters, digits and
    `-_.:` is not trusted: a new id is made, as if none had come."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = sane_request_id(request.headers.get(HEADER)) or uuid.uuid4().hex
        started = time.monotonic()
        with bound(request_id=request_id):
            response = self.get_response(request)
            response[HEADER] = request_id
            log.info(
                "%s %s %d",
                request.method,
                # Percent-encoded again: a decoded %0A must not start a forged line. No query
                # string: an emailed link's token travels there.
                escape_uri_path(request.path),
                response.status_code,
                extra={"duration_ms": round((time.monotonic() - started) * 1000, 1)},
            )
        return response

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: dict[str, Any]
    ) -> None:
        poll_id = kwargs.get("poll_id")
        if poll_id is not None:
            bind(poll_id=str(poll_id))
