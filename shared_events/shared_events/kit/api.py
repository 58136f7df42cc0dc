"""API conventions shared by the services: JSON errors with field-level messages, and
serializers that reject fields they do not accept instead of silently ignoring them."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from .db_unavailable import (
    MESSAGE,
    RETRY_AFTER_SECONDS,
    database_lost,
    is_database_unavailable,
)
from .errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Any:
    """DRF's handler, with every error body an object: {"field": ["message"]} for invalid input,
    {"detail": "..."} for the rest. A service function's django ValidationError is invalid input
    too, so views call services directly and its field-level messages become a 400. A lost
    database connection is a 503 with Retry-After (`db_unavailable`). A service's domain error
    (`errors`) gets its own status with its message as the detail."""
    if is_database_unavailable(exc):
        database_lost(exc)
        set_rollback()
        return Response(
            {"detail": MESSAGE}, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
    if isinstance(exc, DomainError):
        set_rollback()
        return Response({"detail": exc.message}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        response.data = {"non_field_errors": response.data}
    return response


class StrictFieldsMixin:
    """Unknown fields and read-only fields in a request body are errors, not silently dropped."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {
                name
                for name, field in self.fields.items()  # type: ignore[attr-defined]
                if not field.read_only
            }
            readable = set(self.fields)  # type: ignore[attr-defined]
            errors = {}
            for key in data:
                if key not in readable:
                    errors[key] = ["Unknown field."]
                elif key not in writable:
                    errors[key] = ["This field is read-only."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, not "12", 12.0 or true, which DRF's IntegerField would also take:
    amounts are not guessed at."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def view_name(view: Any) -> str:
    """ "MeLedgerApi" reads "Me ledger" in the browsable API, not "Me Ledger Api"."""
    from rest_framework.views import get_view_name

    name = get_view_name(view)
    return name[:-4] if name.endswith(" Api") else name


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> Any:
    """A JSON 404 for API paths; the usual page elsewhere."""
    if "/api/" in request.path:
        return JsonResponse({"detail": "Not found."}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def json_server_error(request: HttpRequest) -> Any:
    if "/api/" in request.path:
        return JsonResponse({"detail": "Internal server error."}, status=500)
    from django.views.defaults import server_error

    return server_error(request)


__all__ = [
    "StrictFieldsMixin",
    "StrictIntegerField",
    "exception_handler",
    "exceptions",
    "json_not_found",
    "json_server_error",
]
