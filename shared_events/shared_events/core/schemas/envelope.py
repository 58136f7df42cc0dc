"""The envelope every event travels in, and its JSON encoding on the wire."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import datetime
from typing import Any

import orjson

from .base import EventDecodeError, frozen_instance

MAX_EVENT_BYTES = 512 * 1024


@dataclasses.dataclass(frozen=True, kw_only=True)
class Envelope:
    id: uuid.UUID
    type: str
    schema_version: int
    aggregate_id: str
    version: int
    occurred_at: datetime
    data: dict[str, Any]
    # Optional since the start: what travels beside the event, not in it (the request id of the
    # call that caused it). Events written before it existed have none and decode the same.
    headers: dict[str, str] | None = None

    @property
    def producer(self) -> str:
        return self.type.split(".", 1)[0]

    def to_json(self) -> bytes:
        doc = {
            "id": str(self.id),
            "type": self.type,
            "schema_version": self.schema_version,
            "aggregate_id": self.aggregate_id,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }
        if self.headers:
            doc["headers"] = self.headers
        return json.dumps(
            doc,
            separators=(",", ":"),
            sort_keys=True,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Envelope:
        if len(raw) > MAX_EVENT_BYTES:
            raise EventDecodeError(f"event is {len(raw)} bytes, more than {MAX_EVENT_BYTES}")
        try:
            # orjson: a consumer decodes every event of a backlog, and the standard library's
            # parser was much of applying one (README, Performance). It refuses what JSON does
            # not allow (NaN, invalid UTF-8) and reads an integer past 64 bits as a float,
            # which no integer field accepts: an undecodable event either way.
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise EventDecodeError(f"not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise EventDecodeError("envelope is not a JSON object")
        try:
            # Every field, checked: so the generated __init__ (a field at a time through
            # object.__setattr__, as slow as the rest of this) is skipped.
            envelope = frozen_instance(
                cls,
                {
                    "id": uuid.UUID(doc["id"]),
                    "type": _str(doc["type"], "type"),
                    "schema_version": _int(doc["schema_version"], "schema_version"),
                    "aggregate_id": _str(doc["aggregate_id"], "aggregate_id"),
                    "version": _int(doc["version"], "version"),
                    "occurred_at": datetime.fromisoformat(_str(doc["occurred_at"], "occurred_at")),
                    "data": doc["data"],
                    "headers": _headers(doc.get("headers")),
                },
            )
        except KeyError as exc:
            raise EventDecodeError(f"envelope is missing {exc.args[0]!r}") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise EventDecodeError(f"malformed envelope: {exc}") from None
        if not isinstance(envelope.data, dict):
            raise EventDecodeError("envelope data is not an object")
        if envelope.version < 1 or envelope.schema_version < 1:
            raise EventDecodeError("version and schema_version start at 1")
        return envelope


def _headers(value: Any) -> dict[str, str] | None:
    """Headers only ever help to follow an event, so a malformed one is dropped rather than
    making the event a poison message."""
    if not isinstance(value, dict):
        return None
    kept = {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
    return kept or None


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer")
    return value
