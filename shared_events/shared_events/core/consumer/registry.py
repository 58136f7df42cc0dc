"""Handlers: `@handles("accounts.account.updated", ...)` on a function in `<app>/consumers.py`.

Startup fails on a handler for an event type nobody defines, and on two handlers for one type.
Handlers must be idempotent: the same event can arrive twice and states can arrive out of order.

`@handles(..., many=True)` registers a handler that takes a list of events: the consecutive
events of its types in a fetched batch, in stream order, applied together (one bulk upsert
instead of a statement per event). It must leave the same state as applying them one by one,
which it is also asked to do, one-element lists, when a batch fails (see `apply.apply_batch`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules

from ..schemas import Event, get_event_type, stream_for_producer
from ..schemas.registry import UnknownEventType

Handler = Callable[[Event[Any]], None]
BatchHandler = Callable[[Sequence[Event[Any]]], None]

_handlers: dict[str, Any] = {}
_many: set[str] = set()  # event types whose handler takes a list
_loaded = False


def handles(*event_types: str, many: bool = False) -> Callable[[Any], Any]:
    if not event_types:
        raise ImproperlyConfigured("@handles needs at least one event type")

    def register(func: Any) -> Any:
        for name in event_types:
            try:
                get_event_type(name)
            except UnknownEventType:
                raise ImproperlyConfigured(
                    f"{func.__module__}.{func.__name__} handles unknown event type {name!r}"
                ) from None
            other = _handlers.get(name)
            if other is not None and other is not func:
                raise ImproperlyConfigured(
                    f"two handlers for {name}: {other.__module__}.{other.__name__} and "
                    f"{func.__module__}.{func.__name__}"
                )
            _handlers[name] = func
            if many:
                _many.add(name)
        return func

    return register


def load_handlers() -> dict[str, Handler]:
    """Import every installed app's consumers module (once) and return the registry."""
    global _loaded
    if not _loaded:
        autodiscover_modules("consumers")
        _loaded = True
    return dict(_handlers)


def handler_for(event_type: str) -> Handler | None:
    """The handler of one event (a list handler is wrapped to take one)."""
    func = _handlers.get(event_type)
    if func is None or event_type not in _many:
        return func
    return _one_at_a_time(func)


def batch_handler_for(event_type: str) -> BatchHandler | None:
    """The list handler of this type, if its handler takes lists."""
    return _handlers.get(event_type) if event_type in _many else None


@functools.cache
def _one_at_a_time(func: BatchHandler) -> Handler:
    @functools.wraps(func)
    def single(event: Event[Any]) -> None:
        func([event])

    return single


def subscriptions() -> dict[str, list[str]]:
    """Stream name -> the subjects the handlers need from it (one wildcard per aggregate)."""
    plan: dict[str, set[str]] = {}
    for name in load_handlers():
        event_type = get_event_type(name)
        plan.setdefault(stream_for_producer(event_type.producer), set()).add(
            f"{event_type.aggregate}.*"
        )
    return {stream: sorted(subjects) for stream, subjects in sorted(plan.items())}
