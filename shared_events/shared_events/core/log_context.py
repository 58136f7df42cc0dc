"""The ids a log line carries (request, account, poll, event), kept in a context variable for
the request, task or event being handled, and the request id events carry in their envelope.

The web's middleware binds a request's ids, a Celery task started from a request binds the
request id it was sent with, and the consumer binds an event's ids while its handler runs, so
that events a handler records carry the request id on. The logging filter of the kit
(`shared_events.kit.logs`) reads them; nothing here formats a line.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator, Mapping
from typing import Any

# The ids a line may carry, in the order they are shown.
LOG_IDS = ("request_id", "account_id", "poll_id", "event_id")

# Letters, digits and - _ . : (a UUID, a W3C trace id, a load balancer's own): nothing that
# could forge a log line or a header, and short enough to be cheap in every envelope.
REQUEST_ID_MAX_LENGTH = 64
_SANE_REQUEST_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.:-]{{0,{REQUEST_ID_MAX_LENGTH - 1}}}")

# The envelope header that carries it (the relay sends it as a NATS header too).
REQUEST_ID_HEADER = "request_id"

_EMPTY: Mapping[str, str] = {}
_ids: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "shared_events_log_ids", default=_EMPTY
)


def sane_request_id(value: Any) -> str | None:
    """`value` if it may serve as a request id as it is, else None (the caller makes one)."""
    if isinstance(value, str) and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return None


def current_ids() -> Mapping[str, str]:
    return _ids.get()


def current_request_id() -> str | None:
    return _ids.get().get("request_id")


@contextlib.contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """Bind ids for the code inside (a None removes one), restoring the ones before after."""
    merged = dict(_ids.get())
    for name, value in ids.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    token = _ids.set(merged)
    try:
        yield
    finally:
        _ids.reset(token)


def bind(**ids: str) -> None:
    """Add ids to what is bound now, until the enclosing `bound()` ends (an account id once the
    request's token was checked, a poll id once a view knows it). Outside any `bound()` it does
    nothing, so nothing outlives the request in a worker thread."""
    current = _ids.get()
    if current is not _EMPTY:
        _ids.set({**current, **ids})


def envelope_headers() -> dict[str, str] | None:
    """The headers an event recorded now carries: the request id in play, if any."""
    request_id = _ids.get().get("request_id")
    return {REQUEST_ID_HEADER: request_id} if request_id else None


def aggregate_ids(event_type: str, aggregate_id: str) -> dict[str, str]:
    """The account and poll ids an event's aggregate names, for its log lines."""
    aggregate = event_type.split(".")[1] if event_type.count(".") >= 2 else ""
    if aggregate == "account":
        return {"account_id": aggregate_id}
    if aggregate in ("poll", "tally", "result"):  # a tally's and a result's id are the poll's
        return {"poll_id": aggregate_id}
    if aggregate == "participation" and ":" in aggregate_id:
        poll_id, account_id = aggregate_id.split(":", 1)
        return {"poll_id": poll_id, "account_id": account_id}
    return {}


def event_log_ids(
    request_id: str | None, event_id: str, event_type: str, aggregate_id: str
) -> dict[str, str]:
    """The `extra` of a line about one event (the relay's, the consumer's)."""
    ids = {
        "event_id": event_id,
        "event_type": event_type,
        **aggregate_ids(event_type, aggregate_id),
    }
    if request_id:
        ids["request_id"] = request_id
    return ids
