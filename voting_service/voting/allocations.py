"""What a ballot's allocations may be, checked in one place: by the API on the body a client sent,
and by `services.ballot_cast` on whatever any caller passes.

Pure Python, no database: a list of 1 to `MAX_ALLOCATIONS` allocations, each exactly a cause id
and a whole number of points, each cause at most once, at least one above zero. Whether the
causes are the poll's and the points the voter's is `voting.eligibility`'s, under the write's
locks. The messages are the API's, word for word, nested under an allocation's index as DRF
nests the errors of a list (the ballot API's answers predate this module).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, TypedDict

from django.core.exceptions import ValidationError

MAX_ALLOCATIONS = 1000  # far above any poll's cause count; bounds the work one request makes
MAX_POINTS = 2**63 - 1  # the database column's range

EMPTY_BALLOT = "Give at least one allocation."
NOTHING_ABOVE_ZERO = "Give at least one cause more than zero points."
REQUIRED = "This field is required."
NULL = "This field may not be null."
NOT_A_CAUSE_ID = "Must be a cause id (a UUID)."
NOT_WHOLE_POINTS = "Points must be a whole number (not text, a decimal or true/false)."
NEGATIVE_POINTS = "Points cannot be negative."
TOO_MANY_POINTS = "Too many points."

_FIELDS = ("cause", "points")


class AllocationIn(TypedDict):
    cause: uuid.UUID
    points: int


# The errors of one field: its messages, or per index or per field the errors within it.
Errors = list[str] | dict[Any, "Errors"]


class AllocationsInvalid(ValidationError):
    """Django's ValidationError on the field `allocations`, its messages flat for any caller;
    `detail` keeps them as the API answers them (a list of messages, or a mapping from an
    allocation's index, or `non_field_errors`, to what is wrong there)."""

    def __init__(self, detail: Errors) -> None:
        super().__init__({"allocations": _flat(detail)})
        self.detail = detail


def _flat(errors: Errors, where: str = "") -> list[str]:
    if isinstance(errors, list):
        return [f"{where}{message}" for message in errors]
    messages = []
    for key, inner in errors.items():
        if isinstance(key, int):
            at = f"allocation {key}: "
        elif key == "non_field_errors":
            at = ""
        else:
            at = f"{key}: "
        messages += _flat(inner, where + at)
    return messages


class _Invalid(Exception):
    def __init__(self, detail: Errors) -> None:
        self.detail = detail


def allocations_validate(given: object) -> list[AllocationIn]:
    """The allocations, their causes as UUIDs; raises `AllocationsInvalid` naming every
    allocation at fault, or the first rule of the whole list that fails."""
    if given is None:
        raise AllocationsInvalid([NULL])
    if not isinstance(given, list | tuple):
        raise AllocationsInvalid(
            {
                "non_field_errors": [
                    f'Expected a list of items but got type "{type(given).__name__}".'
                ]
            }
        )
    if not given:
        raise AllocationsInvalid([EMPTY_BALLOT])
    if len(given) > MAX_ALLOCATIONS:
        raise AllocationsInvalid(
            {
                "non_field_errors": [
                    f"Ensure this field has no more than {MAX_ALLOCATIONS} elements."
                ]
            }
        )
    allocations: list[AllocationIn] = []
    errors: dict[Any, Errors] = {}
    for index, item in enumerate(given):
        try:
            allocations.append(_allocation(item))
        except _Invalid as exc:
            errors[index] = exc.detail
    if errors:
        raise AllocationsInvalid(errors)
    seen: set[uuid.UUID] = set()
    repeated: list[uuid.UUID] = []
    for allocation in allocations:
        cause = allocation["cause"]
        if cause in seen and cause not in repeated:
            repeated.append(cause)
        seen.add(cause)
    if repeated:
        raise AllocationsInvalid(
            ["Each cause may appear only once; repeated: " + ", ".join(map(str, repeated)) + "."]
        )
    if not any(a["points"] > 0 for a in allocations):
        raise AllocationsInvalid([NOTHING_ABOVE_ZERO])
    return allocations


def _allocation(item: object) -> AllocationIn:
    if item is None:
        raise _Invalid([NULL])
    if not isinstance(item, Mapping):
        raise _Invalid(
            {
                "non_field_errors": [
                    f"Invalid data. Expected a dictionary, but got {type(item).__name__}."
                ]
            }
        )
    unknown = [key for key in item if key not in _FIELDS]
    if unknown:
        raise _Invalid({key: ["Unknown field."] for key in unknown})
    errors: dict[Any, Errors] = {}
    cause = points = None
    try:
        cause = _cause(item)
    except _Invalid as exc:
        errors["cause"] = exc.detail
    try:
        points = _points(item)
    except _Invalid as exc:
        errors["points"] = exc.detail
    if errors:
        raise _Invalid(errors)
    assert cause is not None and points is not None
    return {"cause": cause, "points": points}


def _cause(item: Mapping[str, object]) -> uuid.UUID:
    if "cause" not in item:
        raise _Invalid([REQUIRED])
    value = item["cause"]
    if isinstance(value, uuid.UUID):
        return value
    try:
        # As DRF's UUIDField reads one: the hex forms of a UUID, or its 128-bit integer.
        if isinstance(value, str):
            return uuid.UUID(hex=value)
        if isinstance(value, int):
            return uuid.UUID(int=value)
    except ValueError:
        pass
    raise _Invalid([NULL if value is None else NOT_A_CAUSE_ID])


def _points(item: Mapping[str, object]) -> int:
    if "points" not in item:
        raise _Invalid([REQUIRED])
    value = item["points"]
    if value is None:
        raise _Invalid([NULL])
    # A JSON integer: not "12", 12.0 or true, which Python would also take as a number.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid([NOT_WHOLE_POINTS])
    if value < 0:
        raise _Invalid([NEGATIVE_POINTS])
    if value > MAX_POINTS:
        raise _Invalid([TOO_MANY_POINTS])
    return value
