"""Typed event payloads: small frozen dataclasses that decode strictly and encode to JSON.

A tolerant reader: unknown keys in `data` are ignored (a newer producer may add fields), but a
declared field that is missing or of the wrong type makes the event undecodable, so it is
dead-lettered instead of half-applied.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self, TypeVar

T = TypeVar("T")


class EventDecodeError(ValueError):
    """The bytes on the wire are not an event this code can apply (poison message)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class EventData:
    """Base of every event payload class."""

    # Per class, built on first use: (field name, decoder, required, exact type) for every
    # field; a value of exactly that type is valid as it is (`_exact_type`).
    _plan: ClassVar[list[tuple[str, Decoder, bool, type | None]] | None] = None
    _default_plan: ClassVar[list[tuple[str, Callable[[], Any]]] | None] = None

    @classmethod
    def _decoding_plan(cls) -> list[tuple[str, Decoder, bool, type | None]]:
        plan = cls.__dict__.get("_plan")
        if plan is None:
            hints = typing.get_type_hints(cls)
            plan = [
                (
                    f.name,
                    _decoder(hints[f.name]),
                    f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
                    _exact_type(hints[f.name]),
                )
                for f in dataclasses.fields(cls)
            ]
            cls._plan = plan
        return plan

    @classmethod
    def from_dict(cls, raw: Any) -> Self:
        if type(raw) is not dict and not isinstance(raw, Mapping):
            raise EventDecodeError(f"{cls.__name__}: expected an object, got {type(raw).__name__}")
        values: dict[str, Any] = {}
        for name, decode, required, exact in cls._decoding_plan():
            if name in raw:
                value = raw[name]
                # The common case checked inline: a consumer decodes every event of a backlog,
                # and a call per field was most of it.
                values[name] = value if type(value) is exact else decode(value, name)
            elif required:
                raise EventDecodeError(f"{cls.__name__}: missing field {name!r}")
        for name, default in cls._defaults():
            if name not in values:
                values[name] = default()
        event_data = frozen_instance(cls, values)
        event_data.__post_init__()
        return event_data

    @classmethod
    def _defaults(cls) -> list[tuple[str, Callable[[], Any]]]:
        defaults = cls.__dict__.get("_default_plan")
        if defaults is None:
            defaults = [
                (
                    f.name,
                    f.default_factory
                    if f.default is dataclasses.MISSING
                    else functools.partial(_same, f.default),
                )
                for f in dataclasses.fields(cls)
                if f.default is not dataclasses.MISSING
                or f.default_factory is not dataclasses.MISSING
            ]
            cls._default_plan = defaults
        return defaults

    def __post_init__(self) -> None:
        """Checks across fields, in subclasses (called by `from_dict` too)."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _encode(getattr(self, f.name)) for f in dataclasses.fields(self)}


def frozen_instance(cls: type[T], values: dict[str, Any]) -> T:
    """An instance of frozen dataclass `cls` holding `values` (every field, checked already),
    made without the generated __init__, which sets each field through object.__setattr__: a
    third of decoding an event. `__post_init__` is the caller's to run."""
    instance = object.__new__(cls)
    object.__setattr__(instance, "__dict__", values)
    return instance


def _same(value: Any) -> Any:
    return value


def _encode(value: Any) -> Any:
    if isinstance(value, EventData):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


Decoder = Callable[[Any, str], Any]


def _exact_type(hint: Any) -> type | None:
    """The type whose values the field's decoder returns unchanged (a JSON string for `str`,
    say; an int for `int`, since `type(True) is bool`), or None when every value goes through
    the decoder."""
    return hint if hint in (str, bool, int, dict) else None


def _decoder(hint: Any) -> Decoder:
    """A function that checks and converts one JSON value for `hint`, worked out once per field
    (typing's introspection per value was most of decoding a batch of events)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        nullable = type(None) in args
        options = [_decoder(a) for a in args if a is not type(None)]

        def union(value: Any, name: str) -> Any:
            if value is None and nullable:
                return None
            errors = []
            for option in options:
                try:
                    return option(value, name)
                except EventDecodeError as exc:
                    errors.append(str(exc))
            raise EventDecodeError("; ".join(errors) or f"{name}: unexpected null")

        return union
    if origin in (list, tuple):
        (item_hint, *_) = typing.get_args(hint) or (Any,)
        item = _decoder(item_hint)
        as_tuple = origin is tuple

        def sequence(value: Any, name: str) -> Any:
            if not isinstance(value, list):
                raise EventDecodeError(f"{name}: expected a list")
            items = [item(v, f"{name}[{i}]") for i, v in enumerate(value)]
            return tuple(items) if as_tuple else items

        return sequence
    if isinstance(hint, type) and issubclass(hint, EventData):
        return lambda value, name: hint.from_dict(value)
    if hint is Any:
        return lambda value, name: value
    if hint is int:

        def integer(value: Any, name: str) -> Any:
            # bool is an int in Python; a JSON true is never a count of points.
            if isinstance(value, bool) or not isinstance(value, int):
                raise EventDecodeError(f"{name}: expected an integer")
            return value

        return integer
    if hint is float:

        def real(value: Any, name: str) -> Any:
            if isinstance(value, int) and not isinstance(value, bool):
                return float(value)
            if not isinstance(value, float):
                raise EventDecodeError(f"{name}: expected float")
            return value

        return real
    if hint in (str, bool, dict):

        def plain(value: Any, name: str) -> Any:
            if not isinstance(value, hint):
                raise EventDecodeError(f"{name}: expected {hint.__name__}")
            return value

        return plain
    raise TypeError(f"unsupported field type {hint!r}")
