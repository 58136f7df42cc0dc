"""The benchmark's ceiling endpoint exists only when BENCH_ENDPOINTS is set."""

import uuid

import pytest
from django.conf import settings
from rest_framework.test import APIRequestFactory, force_authenticate

from shared_events.kit.identity.authentication import TokenUser
from shared_events.kit.identity.tokens import TokenClaims
from voting.bench import BenchInsertApi
from voting.models import BenchRow

from .factories import client_for

pytestmark = pytest.mark.django_db


def test_off_by_default():
    assert settings.BENCH_ENDPOINTS is False
    response = client_for(uuid.uuid4()).post("/voting/api/bench/insert/", {"note": "x"},
                                              format="json")
    assert response.status_code == 404
    assert not BenchRow.objects.exists()


def test_when_on_it_inserts_one_row_for_the_caller():
    caller = uuid.uuid4()
    request = APIRequestFactory().post("/voting/api/bench/insert/", {"note": "ping"},
                                       format="json")
    user = TokenUser(TokenClaims(subject=caller, role="delegator", token_type="access",
                                 jti="j", issued_at=0, expires_at=0))
    force_authenticate(request, user=user)
    response = BenchInsertApi.as_view()(request)
    assert response.status_code == 201
    row = BenchRow.objects.get()
    assert (row.caller, row.note, response.data) == (caller, "ping", {"id": row.pk})
