"""The ballot API: every rule, with the message a client sees."""

import json
import uuid
from datetime import timedelta

import pytest
from rest_framework import serializers
from rest_framework.test import APIClient

from shared_events.kit.api import StrictFieldsMixin, StrictIntegerField
from shared_events.kit.testing import make_token
from voting.models import Ballot, BallotRevision

from ..factories import ballot_body, client_for, make_poll, make_voter, set_poll, set_voter

pytestmark = pytest.mark.django_db


def url(poll) -> str:
    return f"/voting/api/polls/{poll.pk}/ballot/"


def test_cast_then_read_my_ballot(api, poll):
    cast = api.put(url(poll), ballot_body(poll, 60, 0, 40), format="json")
    assert cast.status_code == 201, cast.content
    body = cast.json()
    assert body["allocations"] == [
        {"cause": c, "points": p} for c, p in zip(poll.causes, [60, 0, 40], strict=True)
    ]
    assert (body["poll"], body["total_points"], body["revisions"], body["retracted"]) == (
        str(poll.pk),
        100,
        1,
        False,
    )
    assert api.get(url(poll)).json() == body


def test_revote_replaces_the_ballot_and_keeps_the_history(api, poll, voter):
    api.put(url(poll), ballot_body(poll, 60, 40), format="json")
    again = api.put(url(poll), ballot_body(poll, 0, 10, 90), format="json")
    assert again.status_code == 200
    assert [a["points"] for a in again.json()["allocations"]] == [0, 10, 90]
    assert again.json()["revisions"] == 2
    ballot = Ballot.objects.get(voter=voter, poll=poll)
    assert ballot.allocations.count() == 3
    history = list(ballot.revisions.values_list("number", "kind", "total_points"))
    assert history == [(1, "cast", 100), (2, "cast", 100)]
    first = ballot.revisions.get(number=1).allocations
    assert first == [
        {"cause": poll.causes[0], "points": 60},
        {"cause": poll.causes[1], "points": 40},
    ]


def test_retract_is_a_revision_and_the_ballot_can_be_cast_again(api, poll, voter):
    api.put(url(poll), ballot_body(poll, 30), format="json")
    assert api.delete(url(poll)).status_code == 204
    gone = api.get(url(poll))
    assert gone.status_code == 404 and gone.json()["detail"] == "You have no ballot in this poll."
    assert api.delete(url(poll)).status_code == 404
    ballot = Ballot.objects.get(voter=voter, poll=poll)
    assert (ballot.is_retracted, ballot.allocations.count(), ballot.revision) == (True, 0, 2)
    assert ballot.revisions.get(number=2).kind == BallotRevision.Kind.RETRACT
    again = api.put(url(poll), ballot_body(poll, 5), format="json")
    assert again.status_code == 200 and again.json()["revisions"] == 3
    assert again.json()["retracted"] is False


def test_retract_without_a_ballot_is_404(api, poll):
    response = api.delete(url(poll))
    assert response.status_code == 404
    assert response.json()["detail"] == "You have no ballot in this poll."


def test_unknown_voter_is_403_not_known_here_yet(poll):
    client = client_for(uuid.uuid4())
    response = client.put(url(poll), ballot_body(poll, 1), format="json")
    assert response.status_code == 403
    assert "not known here yet" in response.json()["detail"]
    assert client.delete(url(poll)).status_code == 403


@pytest.mark.parametrize(
    "change, message",
    [
        ({"is_active": False}, "Your account is deactivated; it cannot vote."),
        ({"role": "operator"}, "Only delegators vote; this account is 'operator'."),
        ({"deleted": True}, "Your account was deleted; it cannot vote."),
    ],
)
def test_only_active_delegators_vote_by_the_replica(poll, change, message):
    voter = set_voter(make_voter(), **change)
    # The token says delegator; the replica decides.
    response = client_for(voter.pk, "delegator").put(url(poll), ballot_body(poll, 1), format="json")
    assert response.status_code == 403 and response.json()["detail"] == message


def test_voting_power_comes_from_the_replica_not_the_token(poll):
    voter = make_voter(points=100)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(voter.pk, points=10**9)}")
    response = client.put(url(poll), ballot_body(poll, 100, 1), format="json")
    assert response.status_code == 400
    assert response.json() == {"allocations": ["These allocations total 101 points; you have 100."]}
    assert client.put(url(poll), ballot_body(poll, 100), format="json").status_code == 201


def test_power_is_per_poll_not_spent_across_polls(api):
    first, second = make_poll(), make_poll()
    assert api.put(url(first), ballot_body(first, 100), format="json").status_code == 201
    assert api.put(url(second), ballot_body(second, 50, 50), format="json").status_code == 201


def test_a_ballot_is_checked_against_my_current_points(api, poll, voter):
    set_voter(voter, points=20)
    response = api.put(url(poll), ballot_body(poll, 21), format="json")
    assert response.json() == {"allocations": ["These allocations total 21 points; you have 20."]}


def test_unknown_or_deleted_poll_is_404(api, poll):
    missing = api.put(
        f"/voting/api/polls/{uuid.uuid4()}/ballot/", ballot_body(poll, 1), format="json"
    )
    assert missing.status_code == 404 and missing.json()["detail"] == "No such poll."
    assert api.get(f"/voting/api/polls/{uuid.uuid4()}/ballot/").status_code == 404
    assert api.get("/voting/api/polls/not-a-uuid/ballot/").status_code == 404
    set_poll(poll, deleted=True)
    assert api.put(url(poll), ballot_body(poll, 1), format="json").status_code == 404


@pytest.mark.parametrize(
    "state, message",
    [
        ({"status": "scheduled"}, "This poll is not open yet"),
        ({"status": "open", "opens_in": timedelta(minutes=5)}, "This poll is not open yet"),
        ({"status": "open", "closes_in": timedelta(seconds=-1)}, "This poll is closed."),
        ({"status": "closed"}, "This poll is closed."),
        ({"status": "finalized"}, "This poll is closed."),
        ({"status": "cancelled"}, "This poll was cancelled."),
    ],
)
def test_ballots_only_while_open_by_status_and_clock(api, state, message):
    poll = make_poll(**state)
    response = api.put(url(poll), ballot_body(poll, 1), format="json")
    assert response.status_code == 400
    assert response.json()["poll"][0].startswith(message)
    assert not Ballot.objects.exists()


def test_retract_only_while_open(api, poll):
    api.put(url(poll), ballot_body(poll, 1), format="json")
    closed = set_poll(poll, status="closed")
    response = api.delete(url(closed))
    assert response.status_code == 400 and response.json() == {"poll": ["This poll is closed."]}


def test_causes_must_belong_to_the_poll(api, poll):
    stranger = str(uuid.uuid4())
    response = api.put(
        url(poll),
        {"allocations": [{"cause": poll.causes[0], "points": 1}, {"cause": stranger, "points": 1}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"allocations": [f"Not a cause of this poll: {stranger}."]}


def test_each_cause_at_most_once(api, poll):
    cause = poll.causes[0]
    response = api.put(
        url(poll),
        {"allocations": [{"cause": cause, "points": 1}, {"cause": cause, "points": 2}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "allocations": [f"Each cause may appear only once; repeated: {cause}."]
    }


@pytest.mark.parametrize(
    "points, message",
    [
        (-1, "Points cannot be negative."),
        (True, "Points must be a whole number (not text, a decimal or true/false)."),
        (False, "Points must be a whole number (not text, a decimal or true/false)."),
        (5.0, "Points must be a whole number (not text, a decimal or true/false)."),
        (2.5, "Points must be a whole number (not text, a decimal or true/false)."),
        ("5", "Points must be a whole number (not text, a decimal or true/false)."),
        (None, "This field may not be null."),
        (2**63, "Too many points."),
    ],
)
def test_points_are_non_negative_json_integers(api, poll, points, message):
    response = api.put(
        url(poll), {"allocations": [{"cause": poll.causes[0], "points": points}]}, format="json"
    )
    assert response.status_code == 400
    # DRF files an item's errors under its index.
    assert response.json() == {"allocations": {"0": {"points": [message]}}}


def test_at_least_one_cause_above_zero(api, poll):
    response = api.put(url(poll), ballot_body(poll, 0, 0), format="json")
    assert response.status_code == 400
    assert response.json() == {"allocations": ["Give at least one cause more than zero points."]}


@pytest.mark.parametrize(
    "body, errors",
    [
        ({}, {"allocations": ["This field is required."]}),
        ({"allocations": []}, {"allocations": ["Give at least one allocation."]}),
        (
            {"allocations": "all"},
            {"allocations": {"non_field_errors": ['Expected a list of items but got type "str".']}},
        ),
        ({"allocations": [], "note": "x"}, {"note": ["Unknown field."]}),
        (
            {"allocations": [{"cause": "nope", "points": 1}]},
            {"allocations": {"0": {"cause": ["Must be a cause id (a UUID)."]}}},
        ),
        (
            {"allocations": [{"points": 1}]},
            {"allocations": {"0": {"cause": ["This field is required."]}}},
        ),
    ],
)
def test_malformed_bodies_get_field_errors(api, poll, body, errors):
    response = api.put(url(poll), body, format="json")
    assert response.status_code == 400
    assert response.json() == errors


def test_unknown_fields_in_an_allocation_are_rejected(api, poll):
    response = api.put(
        url(poll),
        {"allocations": [{"cause": poll.causes[0], "points": 1, "weight": 2}]},
        format="json",
    )
    assert response.json() == {"allocations": {"0": {"weight": ["Unknown field."]}}}


def test_anonymous_gets_401(poll):
    assert APIClient().put(url(poll), ballot_body(poll, 1), format="json").status_code == 401
    assert APIClient().get(f"/voting/api/polls/{poll.pk}/tally/").status_code == 401
    assert APIClient().get("/voting/api/me/ballots/").status_code == 401


def test_my_ballots_across_polls_with_allocations_and_revision_counts(api, voter):
    first, second, untouched = make_poll(title="Spring"), make_poll(title="Autumn"), make_poll()
    api.put(url(first), ballot_body(first, 10), format="json")
    api.put(url(second), ballot_body(second, 1, 2), format="json")
    api.put(url(second), ballot_body(second, 3), format="json")
    api.put(url(first), ballot_body(first, 4), format="json")
    api.delete(url(first))
    make_voter_ballot_elsewhere = client_for(make_voter().pk)
    make_voter_ballot_elsewhere.put(url(untouched), ballot_body(untouched, 1), format="json")

    page = api.get("/voting/api/me/ballots/").json()
    assert page["count"] == 2
    mine = {b["poll_title"]: b for b in page["results"]}
    assert [b["poll_title"] for b in page["results"]] == ["Spring", "Autumn"]  # newest first
    assert (mine["Autumn"]["revisions"], mine["Autumn"]["retracted"]) == (2, False)
    assert mine["Autumn"]["allocations"] == [{"cause": second.causes[0], "points": 3}]
    assert (mine["Spring"]["revisions"], mine["Spring"]["retracted"]) == (3, True)
    assert (mine["Spring"]["allocations"], mine["Spring"]["total_points"]) == ([], 0)
    assert mine["Spring"]["poll_status"] == "open"


def test_my_ballots_is_empty_for_someone_not_known_yet(db):
    assert client_for(uuid.uuid4()).get("/voting/api/me/ballots/").json()["count"] == 0


CAUSE = "2f1c5d3e-8a4b-4c6d-9e0f-1a2b3c4d5e6f"
BODIES = [
    {"allocations": [{"cause": CAUSE, "points": 5}]},
    {"allocations": [{"cause": CAUSE.upper(), "points": 0}, {"cause": CAUSE, "points": 2**63 - 1}]},
    {"allocations": [{"cause": CAUSE.replace("-", ""), "points": 1}]},
    {"allocations": [{"cause": f"urn:uuid:{CAUSE}", "points": 1}]},
    {"allocations": []},
    {"allocations": [{"cause": CAUSE, "points": 1}] * 1000},
    {"allocations": [{"cause": CAUSE, "points": 1}] * 1001},
    {"allocations": [{"cause": CAUSE, "points": -1}]},
    {"allocations": [{"cause": CAUSE, "points": 2**63}]},
    {"allocations": [{"cause": CAUSE, "points": True}]},
    {"allocations": [{"cause": CAUSE, "points": 1.0}]},
    {"allocations": [{"cause": CAUSE, "points": "1"}]},
    {"allocations": [{"cause": CAUSE, "points": None}]},
    {"allocations": [{"cause": 12345, "points": 1}]},
    {"allocations": [{"cause": "nope", "points": 1}]},
    {"allocations": [{"cause": CAUSE}]},
    {"allocations": [{"cause": CAUSE, "points": 1, "weight": 2}]},
    {"allocations": [[CAUSE, 1]]},
    {"allocations": "all"},
    {"allocations": {"cause": CAUSE, "points": 1}},
    {"allocations": None},
    {"allocations": [None, {"cause": CAUSE, "points": 1}]},
    {"allocations": [{"cause": None, "points": None}]},
    {"allocations": [{"cause": True, "points": 1}]},
    {"allocations": [{"cause": -1, "points": 1}]},
    {"allocations": [{"cause": 2**200, "points": 1}]},
    {"allocations": [{"cause": "", "points": 1}]},
    {"allocations": [{"cause": ["x"], "points": 1}]},
    {
        "allocations": [
            {"cause": "nope", "points": -1},
            {"cause": CAUSE, "points": 1},
            {"points": "2", "weight": 1},
            {},
        ]
    },
    {"allocations": [{"cause": CAUSE, "points": 0}]},
    {"allocations": [{"cause": CAUSE, "points": 1}, {"cause": CAUSE.upper(), "points": 2}]},
    {"allocations": [], "note": "x"},
    {"note": "x", "other": 1},
    {"allocations": [{"cause": CAUSE, "points": 1}], "note": "x"},
    {},
    [],
    None,
    "allocations",
]


class AllocationAsItWas(StrictFieldsMixin, serializers.Serializer):
    cause = serializers.UUIDField(
        source="cause_id", error_messages={"invalid": "Must be a cause id (a UUID)."}
    )
    points = StrictIntegerField(
        min_value=0,
        max_value=2**63 - 1,
        error_messages={
            "invalid": "Points must be a whole number (not text, a decimal or true/false).",
            "min_value": "Points cannot be negative.",
            "max_value": "Too many points.",
        },
    )


class AllocationListAsItWas(serializers.ListSerializer):
    def to_internal_value(self, data):
        if isinstance(data, list) and not data:
            raise serializers.ValidationError(["Give at least one allocation."])
        return super().to_internal_value(data)


class BallotInputAsItWas(StrictFieldsMixin, serializers.Serializer):
    """The ballot API's input as DRF's serializers checked it before `voting.allocations`."""

    allocations = AllocationListAsItWas(child=AllocationAsItWas(), min_length=1, max_length=1000)


@pytest.mark.parametrize("body", BODIES)
def test_the_api_checks_allocations_as_the_serializers_it_replaced(body):
    """One validator (`voting.allocations`) replaced DRF's serializers and the service's own
    checks: a client gets the same answers. What the old serializer took, it takes with the same
    values, unless the service refused it next (each cause once, one above zero); what the old
    serializer refused, it refuses with the same messages."""
    from voting.apis.ballots import ballot_allocations

    before = BallotInputAsItWas(data=body)
    try:
        now, errors = ballot_allocations(body), None
    except serializers.ValidationError as exc:
        now, errors = None, json.loads(json.dumps(exc.detail))
    if not before.is_valid():
        assert errors == json.loads(json.dumps(before.errors))
    elif errors is None:
        assert now == [
            {"cause": a["cause_id"], "points": a["points"]}
            for a in before.validated_data["allocations"]
        ]
    else:
        assert errors["allocations"][0] in (
            "Give at least one cause more than zero points.",
            f"Each cause may appear only once; repeated: {CAUSE}.",
        )


def test_ballot_output_matches_the_declared_fields(api, poll, voter):
    """BallotOutput writes its answer by hand; DRF's generic walk over the declared fields (the
    schema) must give the same, for a new ballot, a re-vote, a retraction, as read and as cast."""
    from rest_framework import serializers

    from voting import selectors, services
    from voting.apis.ballots import BallotOutput

    def generic(ballot) -> dict:
        return dict(serializers.Serializer.to_representation(BallotOutput(), ballot))

    cast, created = services.ballot_cast(
        voter_id=voter.pk,
        poll_id=poll.pk,
        allocations=[
            {"cause": uuid.UUID(poll.causes[1]), "points": 7},
            {"cause": uuid.UUID(poll.causes[0]), "points": 0},
        ],
    )
    assert created and BallotOutput(cast).data == generic(cast)
    again, created = services.ballot_cast(
        voter_id=voter.pk,
        poll_id=poll.pk,
        allocations=[{"cause": uuid.UUID(poll.causes[0]), "points": 3}],
    )
    assert not created and BallotOutput(again).data == generic(again)
    read = selectors.ballot_get(voter_id=voter.pk, poll_id=poll.pk)
    assert BallotOutput(read).data == generic(read)
    assert api.get(url(poll)).json() == generic(read)
    services.ballot_retract(voter_id=voter.pk, poll_id=poll.pk)
    retracted = selectors.ballot_get(voter_id=voter.pk, poll_id=poll.pk)
    assert BallotOutput(retracted).data == generic(retracted)
    assert generic(retracted)["retracted"] is True
