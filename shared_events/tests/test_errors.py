"""A service's domain errors reach an API client as their own status and message."""

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from shared_events.kit.api import exception_handler
from shared_events.kit.errors import Conflict, NotFound, Refused


def _handled(exc):
    view = APIView()
    view.request = APIRequestFactory().get("/api/x/")
    return exception_handler(exc, {"view": view, "request": view.request})


@pytest.mark.parametrize(("error", "status"), [(NotFound, 404), (Refused, 403), (Conflict, 409)])
def test_a_domain_error_is_its_status_with_its_message(error, status):
    response = _handled(error("Poll 7 is closed."))
    assert response.status_code == status
    assert response.data == {"detail": "Poll 7 is closed."}


def test_a_validation_error_stays_a_field_level_400():
    response = _handled(ValidationError({"title": ["Too long."]}))
    assert response.status_code == 400
    assert response.data == {"title": ["Too long."]}


def test_other_exceptions_are_not_swallowed():
    assert _handled(RuntimeError("bug")) is None
