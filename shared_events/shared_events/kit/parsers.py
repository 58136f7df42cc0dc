"""The API's JSON parser: DRF's, with a bound on how deeply a body may nest and on its size.

No body of these APIs nests more than a few levels, while Python's parser raises RecursionError
(a 500) on a small body of a thousand nested brackets, and anything that walks deep data later
risks the same. A body nested deeper than the bound is a 400 before any view sees it.

Nor is any body more than a few kilobytes, while DRF reads the request stream whole, past
Django's DATA_UPLOAD_MAX_MEMORY_SIZE (which guards request.body and forms only), and no
Gateway API proxy caps bodies by default: a larger one is a 413, read no further than the
bound."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 1024 * 1024


class PayloadTooLarge(APIException):
    status_code = 413
    default_code = "payload_too_large"


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
    max_bytes = MAX_JSON_BYTES

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
        body = stream.read(self.max_bytes + 1)
        if len(body) > self.max_bytes:
            raise PayloadTooLarge(f"The request body is larger than {self.max_bytes} bytes.")
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise ParseError(message) from None
        if nests_deeper_than(data, self.max_depth):
            raise ParseError(message)
        return data
