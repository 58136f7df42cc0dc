"""The API's pagination: DRF's limit/offset, with a page size cap and a 400 for nonsense.

DRF's own quietly falls back to the default page for `?limit=abc` and sends an unbounded or
overflowing `limit` to the database (a 500 on PostgreSQL past its bigint range). Here `limit`
is a whole number from 1 to `max_limit` and `offset` a whole number from 0, as the OpenAPI
schema says; anything else is a 400 naming the parameter."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

MAX_PAGE_SIZE = 500
MAX_OFFSET = 2**63 - 1  # a database integer's range

_WHOLE_NUMBER = re.compile(r"[0-9]+")


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    max_limit = MAX_PAGE_SIZE

    def get_limit(self, request: Request) -> int | None:
        raw = request.query_params.get(self.limit_query_param)
        if raw is None:
            return self.default_limit
        return whole_number(
            self.limit_query_param,
            raw,
            minimum=1,
            maximum=self.max_limit,
            message=f"Use a whole number from 1 to {self.max_limit}.",
        )

    def get_offset(self, request: Request) -> int:
        raw = request.query_params.get(self.offset_query_param)
        if raw is None:
            return 0
        # An offset past the count answers an empty page without a query (DRF's
        # paginate_queryset); the bound only keeps the number inside a database integer.
        return whole_number(
            self.offset_query_param,
            raw,
            minimum=0,
            maximum=MAX_OFFSET,
            message=f"Use a whole number from 0 to {MAX_OFFSET}.",
        )

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"].update(
                    minimum=1, maximum=self.max_limit, default=self.default_limit
                )
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"].update(minimum=0, maximum=MAX_OFFSET, default=0)
        return parameters


def whole_number(name: str, raw: str, *, minimum: int, maximum: int, message: str) -> int:
    """Digits only (int() would also take " 5", "+5" and "5_0"), within the bounds, or a 400
    naming the parameter. A string longer than the maximum is refused unconverted."""
    digits = raw.lstrip("0") or "0"
    if (
        not _WHOLE_NUMBER.fullmatch(raw)
        or len(digits) > len(str(maximum))
        or not minimum <= int(digits) <= maximum
    ):
        raise ValidationError({name: [message]})
    return int(digits)
