"""drf-spectacular's AutoSchema, documenting the error answers every operation can give.

A view declares its success answers; the errors come from the shared machinery (the exception
handler, the parser, the pagination, authentication, throttles, the NUL guard), so they are
documented here once: a client generated from the schema then knows each answer's shape. An
answer a view declares itself keeps its description and gets the shape if it had none."""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

ERROR_DETAIL = {
    "type": "object",
    "description": 'An error that is not about one field: `{"detail": "message"}`.',
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": 'Invalid input, by field: `{"field": ["message", ...]}`, the errors of a '
    "nested object or list of objects nested the same way, and `non_field_errors` for the "
    "input as a whole.",
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
            {"type": "object"},
        ],
    },
}


class AutoSchema(SpectacularAutoSchema):
    def _map_serializer_field(
        self, field: Any, direction: str, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # A nested `many=True` serializer's bounds are not validators, which is where
        # drf-spectacular looks; without them an empty list looks valid and is refused.
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            # drf-stubs know the bounds as arguments only, not as attributes.
            lower, upper = field.min_length, field.max_length  # type: ignore[attr-defined]
            if lower is not None:
                schema.setdefault("minItems", lower)
            if upper is not None:
                schema.setdefault("maxItems", upper)
            if not field.allow_empty:
                schema.setdefault("minItems", 1)
        return schema

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        detail = self._component("ErrorDetail", ERROR_DETAIL)
        invalid = {"anyOf": [self._component("FieldErrors", FIELD_ERRORS), detail]}
        for code, (description, schema, headers) in self._error_answers(detail, invalid).items():
            answer = responses.setdefault(code, {"description": description})
            answer.setdefault("content", {"application/json": {"schema": schema}})
            if headers:
                answer.setdefault("headers", headers)
        return responses

    def _error_answers(self, detail: dict, invalid: dict) -> dict[str, tuple]:
        view = self.view
        answers: dict[str, tuple] = {
            "400": (
                "Invalid input: a parameter or body field (by field), or a body that is not "
                "JSON or nests too deeply (detail).",
                invalid,
                None,
            ),
        }
        if getattr(view, "authentication_classes", None):
            answers["401"] = (
                "No valid access token where one is needed, or an invalid one given.",
                detail,
                {"WWW-Authenticate": {"schema": {"type": "string"}}},
            )
            answers["403"] = (
                "Not allowed: the caller's role or state, or a browser request "
                "without its CSRF token.",
                detail,
                None,
            )
        if "{" in self.path:
            answers["404"] = ("Nothing here has that id.", detail, None)
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer():
            answers["415"] = (
                "The body is not JSON (Content-Type: application/json).",
                detail,
                None,
            )
        if getattr(view, "throttle_classes", None):
            answers["429"] = (
                "Too many requests; try again after Retry-After seconds.",
                detail,
                {"Retry-After": {"schema": {"type": "integer"}}},
            )
        # Any operation: its database was out of reach (shared_events/kit/db_unavailable.py).
        answers["503"] = (
            "The service's database is out of reach for a moment; send the "
            "request again after Retry-After seconds.",
            detail,
            {"Retry-After": {"schema": {"type": "integer"}}},
        )
        return answers

    def _component(self, name: str, schema: dict[str, Any]) -> dict[str, str]:
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
        )
        self.registry.register_on_missing(component)
        return component.ref
