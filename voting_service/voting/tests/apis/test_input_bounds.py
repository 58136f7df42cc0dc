"""What a client can send that voting must refuse with a 400, not a 500: JSON nested past any
use, page sizes and offsets that are not small whole numbers, NUL characters in a URL; and the
schema says so."""

import pytest
from rest_framework.test import APIClient

from voting.models import Ballot

from ..factories import ballot_body, set_poll

pytestmark = pytest.mark.django_db

DEEP_JSON = "[" * 1000 + "]" * 1000


def ballot_url(poll) -> str:
    return f"/voting/api/polls/{poll.pk}/ballot/"


def test_deeply_nested_json_is_a_400_and_casts_nothing(api, poll):
    response = api.put(ballot_url(poll), DEEP_JSON, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "levels deep" in response.json()["detail"]
    nested = '{"allocations": [{"cause": ' + "[" * 40 + "]" * 40 + ', "points": 1}]}'
    response = api.put(ballot_url(poll), nested, content_type="application/json")
    assert response.status_code == 400 and "levels deep" in response.json()["detail"]
    assert not Ballot.objects.exists()


@pytest.fixture
def list_paths(api, poll) -> list[str]:
    """Every list endpoint of voting, each with something to list."""
    assert api.put(ballot_url(poll), ballot_body(poll, 5), format="json").status_code == 201
    set_poll(poll, status="closed")
    return [
        "/voting/api/me/ballots/",
        f"/voting/api/polls/{poll.pk}/ballot/revisions/",
        f"/voting/api/polls/{poll.pk}/receipts/",
    ]


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("limit=99999999999999999999", "limit"),
        ("limit=100000", "limit"),
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=%2B5", "limit"),
        ("offset=-1", "offset"),
        ("offset=1e3", "offset"),
        ("offset=99999999999999999999", "offset"),
    ],
)
def test_nonsense_page_parameters_are_a_400_on_every_list(api, list_paths, query, parameter):
    for path in list_paths:
        response = api.get(f"{path}?{query}")
        assert response.status_code == 400, (path, response.content)
        assert list(response.json()) == [parameter], path


def test_every_list_serves_pages_up_to_its_cap(api, list_paths):
    ballots, revisions, receipts = list_paths
    for path in list_paths:
        page = api.get(f"{path}?limit=1&offset=0")
        assert page.status_code == 200 and len(page.json()["results"]) == 1, path
        assert api.get(f"{path}?limit=1&offset=5").json()["results"] == [], path
    assert api.get(f"{ballots}?limit=500").status_code == 200
    assert api.get(f"{ballots}?limit=501").status_code == 400
    # The counted receipts are one list to check a digest against: a larger page.
    assert api.get(f"{receipts}?limit=10000").status_code == 200
    assert api.get(f"{receipts}?limit=10001").status_code == 400


def test_a_nul_character_in_the_url_is_a_400(api):
    response = api.get("/voting/api/me/ballots/?x=%00")
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    assert APIClient().get("/voting/api/receipts/%00/").status_code == 400


def test_the_schema_refuses_an_empty_ballot_as_the_api_does(api, poll):
    schema = APIClient().get("/voting/api/schema/?format=json").json()
    body = schema["paths"]["/voting/api/polls/{poll_id}/ballot/"]["put"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    allocations = schema["components"]["schemas"][ref]["properties"]["allocations"]
    assert allocations["minItems"] == 1 and allocations["maxItems"] == 1000
    response = api.put(ballot_url(poll), {"allocations": []}, format="json")
    assert response.status_code == 400
    assert response.json() == {"allocations": ["Give at least one allocation."]}


def test_the_schema_documents_the_error_answers(api):
    schema = APIClient().get("/voting/api/schema/?format=json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            assert {"400", "401", "403"} <= set(answers), (method, path)
            if "{" in path:
                assert "404" in answers and answers["404"]["content"], (method, path)
    put = schema["paths"]["/voting/api/polls/{poll_id}/ballot/"]["put"]["responses"]
    assert "415" in put
    assert "404" in schema["paths"]["/voting/api/me/"]["get"]["responses"]
