"""The polls API: delegators read (never drafts), operators write and move polls along."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from polls import services
from polls.models import Poll
from polls.tests.conftest import client_with
from polls.tests.factories import (
    last_event,
    make_cause,
    make_poll,
    open_poll,
    scheduled_poll,
)

pytestmark = pytest.mark.django_db
API = "/polls/api/polls/"


def window(opens_in=timedelta(hours=1), lasts=timedelta(days=3)) -> dict:
    opens = timezone.now() + opens_in
    return {"opens_at": opens.isoformat(), "closes_at": (opens + lasts).isoformat()}


def new_poll_body(offered, **overrides) -> dict:
    return {
        "title": "Q3 round",
        "description": "Our charity fund",
        "fund_lovelace": 2_000_000,
        **window(),
        "causes": [str(c.pk) for c in offered],
        **overrides,
    }


# Reading


def test_delegators_never_see_drafts(as_delegator, as_operator):
    draft, scheduled = make_poll(title="draft"), scheduled_poll(title="scheduled")
    listing = as_delegator.get(API).json()
    assert [p["title"] for p in listing["results"]] == ["scheduled"]
    assert as_delegator.get(f"{API}{draft.pk}/").status_code == 404
    assert as_delegator.get(f"{API}{draft.pk}/results/").status_code == 404
    assert as_delegator.get(f"{API}?status=draft").json()["results"] == []
    assert {p["id"] for p in as_operator.get(API).json()["results"]} == {
        str(draft.pk),
        str(scheduled.pk),
    }
    assert as_operator.get(f"{API}{draft.pk}/").status_code == 200


def test_the_list_filters_by_status(as_delegator):
    open_poll(title="open one")
    scheduled_poll(title="coming")
    body = as_delegator.get(f"{API}?status=open").json()
    assert [p["title"] for p in body["results"]] == ["open one"]
    bad = as_delegator.get(f"{API}?status=opened")
    assert bad.status_code == 400 and "status" in bad.json()


def test_the_detail_embeds_its_causes_in_order(as_delegator):
    wells, schools = make_cause("Wells"), make_cause("Schools", url="https://example.org/s")
    poll = scheduled_poll(causes=[schools, wells], fund_lovelace=1_500_000)
    body = as_delegator.get(f"{API}{poll.pk}/").json()
    assert body["causes"] == [str(schools.pk), str(wells.pk)]
    assert [(c["title"], c["url"]) for c in body["cause_details"]] == [
        ("Schools", "https://example.org/s"),
        ("Wells", ""),
    ]
    assert (body["fund_lovelace"], body["fund_ada"], body["status"]) == (
        1_500_000,
        "1.500000",
        "scheduled",
    )
    assert {"title", "description", "opens_at", "closes_at", "results_visibility"} <= set(body)


def test_reading_needs_a_token(db):
    assert client_with(None).get(API).status_code == 401


# Writing


def test_operators_create_a_draft_with_its_causes(as_operator):
    causes = [make_cause(), make_cause()]
    response = as_operator.post(
        API, new_poll_body(causes, results_visibility="after_close"), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["results_visibility"], body["causes"]) == (
        "draft",
        "after_close",
        [str(c.pk) for c in causes],
    )
    poll = Poll.objects.get(pk=body["id"])
    assert last_event(poll)["data"]["causes"] == body["causes"]


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"fund_lovelace": 0}, "fund_lovelace"),
        ({"fund_lovelace": -1}, "fund_lovelace"),
        ({"fund_lovelace": "1000"}, "fund_lovelace"),
        ({"fund_lovelace": 10.5}, "fund_lovelace"),
        ({"fund_lovelace": True}, "fund_lovelace"),
        ({"title": ""}, "title"),
        ({"results_visibility": "never"}, "results_visibility"),
        ({"opens_at": "tomorrow"}, "opens_at"),
        ({"causes": ["not-a-uuid"]}, "causes"),
        ({"causes": [str(uuid.uuid4())]}, "causes"),
        ({"colour": "red"}, "colour"),
        ({"status": "open"}, "status"),
        ({"id": str(uuid.uuid4())}, "id"),
        ({"cause_details": []}, "cause_details"),
    ],
)
def test_bad_poll_input_is_a_field_level_400(as_operator, overrides, field):
    response = as_operator.post(API, {**new_poll_body([make_cause()]), **overrides}, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Poll.objects.exists()


def test_read_only_and_unknown_fields_say_which_they_are(as_operator):
    body = as_operator.post(
        API, new_poll_body([], status="open", colour="red"), format="json"
    ).json()
    assert body == {"status": ["This field is read-only."], "colour": ["Unknown field."]}


def test_a_poll_must_close_after_it_opens(as_operator):
    body = new_poll_body([], **window(lasts=-timedelta(hours=1)))
    response = as_operator.post(API, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"closes_at": ["The poll must close after it opens."]}


def test_an_inactive_cause_cannot_be_offered(as_operator):
    retired = make_cause("Retired", is_active=False)
    response = as_operator.post(API, new_poll_body([make_cause(), retired]), format="json")
    assert response.status_code == 400 and "Retired" in response.json()["causes"][0]


def test_delegators_cannot_write(as_delegator):
    poll = make_poll()
    assert as_delegator.post(API, new_poll_body([]), format="json").status_code == 403
    assert as_delegator.patch(f"{API}{poll.pk}/", {"title": "x"}, format="json").status_code == 403
    for action in ("schedule", "close", "cancel"):
        assert as_delegator.post(f"{API}{poll.pk}/{action}/").status_code == 403


def test_operators_change_the_causes_and_fields_of_a_draft(as_operator):
    poll = make_poll(causes=2)
    third = make_cause()
    response = as_operator.patch(
        f"{API}{poll.pk}/",
        {"causes": [str(third.pk), *map(str, poll.cause_ids())], "fund_lovelace": 3},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["causes"][0] == str(third.pk)
    assert last_event(poll)["data"]["fund_lovelace"] == 3


def test_once_open_only_the_wording_changes(as_operator):
    poll = open_poll()
    refused = as_operator.patch(
        f"{API}{poll.pk}/", {"fund_lovelace": 5, "causes": []}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "causes": ["This cannot change once the poll is open."],
        "fund_lovelace": ["This cannot change once the poll is open."],
    }
    allowed = as_operator.patch(f"{API}{poll.pk}/", {"title": "Renamed"}, format="json")
    assert allowed.status_code == 200 and allowed.json()["title"] == "Renamed"


def test_schedule_close_and_cancel(as_operator):
    poll = make_poll(causes=2, opens_in=-timedelta(seconds=1))
    scheduled = as_operator.post(f"{API}{poll.pk}/schedule/")
    assert scheduled.status_code == 200 and scheduled.json()["status"] == "scheduled"
    services.polls_open_and_close_due()
    closed = as_operator.post(f"{API}{poll.pk}/close/")
    assert closed.status_code == 200 and closed.json()["status"] == "closing"
    again = as_operator.post(f"{API}{poll.pk}/cancel/")
    assert again.status_code == 400
    assert again.json() == {
        "status": ["Only a draft, scheduled or open poll can be cancelled; this one is closing."]
    }
    other = make_poll()
    assert as_operator.post(f"{API}{other.pk}/cancel/").json()["status"] == "cancelled"


def test_scheduling_explains_what_is_missing(as_operator):
    poll = make_poll(causes=1)
    response = as_operator.post(f"{API}{poll.pk}/schedule/")
    assert (
        response.status_code == 400 and "at least 2 active causes" in response.json()["causes"][0]
    )


def test_transitions_take_no_body(as_operator):
    poll = make_poll()
    response = as_operator.post(f"{API}{poll.pk}/schedule/", {"force": True}, format="json")
    assert response.status_code == 400 and response.json() == {"force": ["Unknown field."]}


def test_unknown_polls_are_404(as_operator):
    assert as_operator.get(f"{API}{uuid.uuid4()}/").status_code == 404
    assert as_operator.post(f"{API}{uuid.uuid4()}/close/").status_code == 404


def test_an_unknown_poll_or_a_draft_shown_to_a_delegator_answers_the_same_404(
    as_operator, as_delegator
):
    not_found = {"detail": "No Poll matches the given query."}
    draft = make_poll()
    for client, path in (
        (as_operator, f"{API}{uuid.uuid4()}/"),
        (as_delegator, f"{API}{draft.pk}/"),
        (as_delegator, f"{API}{draft.pk}/results/"),
    ):
        response = client.get(path)
        assert (response.status_code, response.json()) == (404, not_found), path
    for action in ("schedule", "close", "cancel"):
        response = as_operator.post(f"{API}{uuid.uuid4()}/{action}/")
        assert (response.status_code, response.json()) == (404, not_found), action
    response = as_operator.patch(f"{API}{uuid.uuid4()}/", {"title": "x"}, format="json")
    assert (response.status_code, response.json()) == (404, not_found)


def test_the_schema_documents_the_polls_api(db):
    schema = client_with(None).get("/polls/api/schema/").content
    for path in (
        b"/polls/api/polls/",
        b"/polls/api/polls/{poll_id}/results/",
        b"/polls/api/polls/{poll_id}/schedule/",
    ):
        assert path in schema
