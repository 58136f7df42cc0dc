"""voting holds no benchmark machinery: the ballot benchmark's ceiling endpoint and its rows
belong to the bench's own app (tests/bench/benchapp), which only the bench's settings install."""

import uuid

import pytest
from django.apps import apps
from django.db import connection

from .factories import client_for

pytestmark = pytest.mark.django_db


def test_voting_serves_no_bench_endpoint():
    response = client_for(uuid.uuid4()).post(
        "/voting/api/bench/insert/", {"note": "x"}, format="json"
    )
    assert response.status_code == 404


def test_voting_has_no_bench_model_nor_table():
    assert [
        m.__name__
        for m in apps.get_app_config("voting").get_models()
        if "bench" in m.__name__.lower()
    ] == []
    assert [t for t in connection.introspection.table_names() if "bench" in t] == []
