"""What a client can send that polls must refuse with a 400 (or a 413), not a 500: JSON nested
past any use or larger than a mebibyte, page sizes and offsets that are not small whole numbers,
NUL characters in a URL."""

import pytest
from rest_framework.test import APIClient

from polls.models import Cause
from polls.tests.factories import make_poll

pytestmark = pytest.mark.django_db

DEEP_JSON = "[" * 1000 + "]" * 1000
LIST_ENDPOINTS = ["/polls/api/causes/", "/polls/api/polls/"]


@pytest.mark.parametrize("method", ["post", "patch"])
def test_deeply_nested_json_is_a_400_and_changes_nothing(as_operator, method):
    poll = make_poll()
    version = poll.version
    path = "/polls/api/causes/" if method == "post" else f"/polls/api/polls/{poll.pk}/"
    before = Cause.objects.count()
    response = getattr(as_operator, method)(path, DEEP_JSON, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "levels deep" in response.json()["detail"]
    assert Cause.objects.count() == before
    poll.refresh_from_db()
    assert poll.version == version


def test_json_nested_past_the_bound_in_a_field_is_a_400(as_operator):
    body = '{"title": "x", "description": ' + "[" * 40 + "]" * 40 + "}"
    response = as_operator.post("/polls/api/causes/", body, content_type="application/json")
    assert response.status_code == 400 and "levels deep" in response.json()["detail"]
    assert not Cause.objects.exists()


def test_a_body_over_a_mebibyte_is_a_413_and_changes_nothing(as_operator):
    body = '{"title": "x", "description": "' + "d" * (1024 * 1024) + '"}'
    response = as_operator.post("/polls/api/causes/", body, content_type="application/json")
    assert response.status_code == 413, response.content
    assert "larger than 1048576 bytes" in response.json()["detail"]
    assert not Cause.objects.exists()


@pytest.mark.parametrize("path", LIST_ENDPOINTS)
@pytest.mark.parametrize(
    "query, parameter",
    [
        ("limit=99999999999999999999", "limit"),
        ("limit=100000", "limit"),
        ("limit=0", "limit"),
        ("limit=-5", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("offset=0.5", "offset"),
        ("offset=99999999999999999999", "offset"),
    ],
)
def test_nonsense_page_parameters_are_a_400(as_delegator, path, query, parameter):
    response = as_delegator.get(f"{path}?{query}")
    assert response.status_code == 400, response.content
    assert list(response.json()) == [parameter]


@pytest.mark.parametrize("path", LIST_ENDPOINTS)
def test_pages_up_to_the_cap_are_served(as_operator, path):
    make_poll(causes=3)
    assert len(as_operator.get(f"{path}?limit=1").json()["results"]) == 1
    assert as_operator.get(f"{path}?limit=500&offset=0").status_code == 200
    assert as_operator.get(f"{path}?limit=1&offset=1000").json()["results"] == []


def test_a_nul_character_in_a_filter_is_a_400(as_delegator):
    response = as_delegator.get("/polls/api/polls/?status=open%00")
    assert response.status_code == 400 and "NUL" in response.json()["detail"]


def test_the_schema_documents_the_error_answers():
    schema = APIClient().get("/polls/api/schema/?format=json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            assert {"400", "401", "403"} <= set(answers), (method, path)
            if "{" in path:
                assert "404" in answers, (method, path)
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["name"] == "limit":
                assert parameter["schema"]["maximum"] == 500, path
