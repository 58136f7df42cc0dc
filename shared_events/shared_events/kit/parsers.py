"""The API's JSON parser: DRF's, with a bound on how deeply a body may nest.

No body of these APIs nests more than a few levels, while Python's parser raises RecursionError
(a 500) on a small body of a thousand nested brackets, and anything that walks deep data later
risks the same. A body nested deeper than the bound is a 400 before any view sees it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32


def nests_deeper_than(data: Any, limit: int) -> bool:
    """Whether lists and objects in `data` nest more than `limit` levels; a loop, not
    recursion, so the check cannot itself run out of stack."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class BoundedJSONParser(JSONParser):
    max_depth = MAX_JSON_DEPTH

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        message = (
            f"JSON parse error - the body nests lists or objects more than "
            f"{self.max_depth} levels deep."
        )
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(message) from None
        if nests_deeper_than(data, self.max_depth):
            raise ParseError(message)
        return data
