"""Service-layer validation errors as the API's field-level 400s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

T = TypeVar("T")


def service_call(func: Callable[..., T], **kwargs: Any) -> T:
    try:
        return func(**kwargs)
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {
            "non_field_errors": exc.messages}
        raise serializers.ValidationError(detail) from None
