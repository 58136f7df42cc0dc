"""Typed event payloads: small frozen dataclasses that decode strictly and encode to JSON.

A tolerant reader: unknown keys in `data` are ignored (a newer producer may add fields), but a
declared field that is missing or of the wrong type makes the event undecodable, so it is
dead-lettered instead of half-applied.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Self


class EventDecodeError(ValueError):
    """The bytes on the wire are not an event this code can apply (poison message)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class EventData:
    """Base of every event payload class."""

    _hints: ClassVar[dict[str, Any] | None] = None

    @classmethod
    def _field_types(cls) -> dict[str, Any]:
        if cls.__dict__.get("_hints") is None:
            cls._hints = typing.get_type_hints(cls)
        return cls._hints  # type: ignore[return-value]

    @classmethod
    def from_dict(cls, raw: Any) -> Self:
        if not isinstance(raw, Mapping):
            raise EventDecodeError(f"{cls.__name__}: expected an object, got {type(raw).__name__}")
        hints = cls._field_types()
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            if field.name in raw:
                values[field.name] = _coerce(raw[field.name], hints[field.name], field.name)
            elif (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                raise EventDecodeError(f"{cls.__name__}: missing field {field.name!r}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _encode(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _encode(value: Any) -> Any:
    if isinstance(value, EventData):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _coerce(value: Any, hint: Any, name: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, name)
            except EventDecodeError as exc:
                errors.append(str(exc))
        raise EventDecodeError("; ".join(errors) or f"{name}: unexpected null")
    if origin in (list, tuple):
        (item_hint, *_) = typing.get_args(hint) or (Any,)
        if not isinstance(value, list):
            raise EventDecodeError(f"{name}: expected a list")
        items = [_coerce(v, item_hint, f"{name}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if isinstance(hint, type) and issubclass(hint, EventData):
        return hint.from_dict(value)
    if hint is Any:
        return value
    if hint is int:
        # bool is an int in Python; a JSON true is never a count of points.
        if isinstance(value, bool) or not isinstance(value, int):
            raise EventDecodeError(f"{name}: expected an integer")
        return value
    if hint in (str, bool, float, dict):
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, hint):
            raise EventDecodeError(f"{name}: expected {hint.__name__}")
        return value
    raise TypeError(f"unsupported field type {hint!r} for {name}")
