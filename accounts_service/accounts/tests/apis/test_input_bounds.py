"""What a client can send that the API must refuse with a 400, not a 500: JSON nested past
any use, page sizes and offsets that are not small whole numbers, NUL characters in a URL."""

import pytest
from django.core.cache import cache

from accounts.models import Account

from ..conftest import PASSWORD

pytestmark = pytest.mark.django_db

# About 2 KB: enough levels that Python's parser runs out of stack.
DEEP_JSON = "[" * 1000 + "]" * 1000


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


@pytest.mark.parametrize("path", ["/accounts/api/register/", "/accounts/api/token/"])
def test_deeply_nested_json_is_a_400_before_sign_in(api, path):
    response = api.post(path, DEEP_JSON, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "levels deep" in response.json()["detail"]
    assert not Account.objects.exists()


def test_json_nested_a_little_past_the_bound_is_a_400_too(as_delegator):
    body = '{"email": ' + "[" * 40 + "]" * 40 + "}"
    response = as_delegator.patch("/accounts/api/me/", body, content_type="application/json")
    assert response.status_code == 400
    assert "levels deep" in response.json()["detail"]


def test_ordinary_nesting_still_reaches_the_fields(api):
    response = api.post(
        "/accounts/api/register/",
        {"email": [[["a@example.org"]]], "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 400 and "email" in response.json()


LIST_ENDPOINTS = ["/accounts/api/me/ledger/", "/accounts/api/accounts/"]


@pytest.mark.parametrize("path", LIST_ENDPOINTS)
@pytest.mark.parametrize(
    "query, parameter",
    [
        ("limit=99999999999999999999", "limit"),
        ("limit=100000", "limit"),
        ("limit=501", "limit"),
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("limit=", "limit"),
        ("offset=-1", "offset"),
        ("offset=abc", "offset"),
        ("offset=99999999999999999999", "offset"),
    ],
)
def test_nonsense_page_parameters_are_a_400_naming_the_parameter(
    as_operator, path, query, parameter
):
    response = as_operator.get(f"{path}?{query}")
    assert response.status_code == 400, response.content
    assert list(response.json()) == [parameter]


@pytest.mark.parametrize("path", LIST_ENDPOINTS)
def test_pages_up_to_the_cap_are_served(as_operator, delegator, path):
    assert as_operator.get(f"{path}?limit=500").json()["results"] is not None
    first = as_operator.get(f"{path}?limit=1&offset=0").json()
    assert len(first["results"]) == min(1, first["count"])
    past_the_end = as_operator.get(f"{path}?limit=1&offset=9223372036854775807")
    assert past_the_end.status_code == 200 and past_the_end.json()["results"] == []


def test_the_schema_shows_the_page_bounds(api):
    schema = api.get("/accounts/api/schema/?format=json").json()
    parameters = {
        p["name"]: p["schema"]
        for p in schema["paths"]["/accounts/api/accounts/"]["get"]["parameters"]
    }
    assert parameters["limit"]["maximum"] == 500 and parameters["limit"]["minimum"] == 1
    assert parameters["offset"]["minimum"] == 0


def test_a_nul_character_in_an_api_filter_is_a_400(as_operator):
    response = as_operator.get("/accounts/api/accounts/?search=%00")
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


def test_a_nul_character_in_the_admin_search_is_a_400(client, operator):
    assert client.login(email=operator.email, password=PASSWORD)
    response = client.get("/accounts/admin/accounts/account/?q=%00")
    assert response.status_code == 400
    assert client.get("/accounts/admin/accounts/account/?q=op").status_code == 200


def test_the_schema_documents_the_error_answers(api):
    schema = api.get("/accounts/api/schema/?format=json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            assert {"400", "401", "403", "503"} <= set(answers), (method, path)
            assert "Retry-After" in answers["503"]["headers"], (method, path)
            for code in ("400", "401", "403", "503"):
                assert "application/json" in answers[code]["content"], (method, path, code)
            if "{" in path:
                assert "404" in answers, (method, path)
    assert "429" in schema["paths"]["/accounts/api/token/"]["post"]["responses"]
    assert "429" in schema["paths"]["/accounts/api/register/"]["post"]["responses"]
    assert set(schema["components"]["schemas"]["ErrorDetail"]["required"]) == {"detail"}
