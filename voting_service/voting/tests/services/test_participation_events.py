"""voting.participation: who has a counted ballot in a poll (never how), written by the ballot's
own write in its transaction, one outbox row when it changes and none when a ballot is only
replaced."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from shared_events.core.outbox.models import OutboxEvent
from voting import services

from ..factories import make_poll, make_voter
from .test_ballots import cast, framing  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def participation_rows(poll, voter) -> list[tuple[str, int, bool]]:
    rows = OutboxEvent.objects.filter(aggregate_id=f"{poll.pk}:{voter.pk}").order_by("seq")
    return [
        (r.event_type, r.aggregate_version, json.loads(bytes(r.payload))["data"]["voted"])
        for r in rows
    ]


def test_first_cast_retraction_and_cast_again_each_publish_replacing_does_not(framing):  # noqa: F811
    poll, voter, other = make_poll(causes=2), make_voter(points=50), make_voter(points=50)
    with framing():
        cast(voter.pk, poll, 5, 1)
    with framing():
        cast(voter.pk, poll, 2)  # a replaced ballot: still voted
    with framing():
        services.ballot_retract(voter_id=voter.pk, poll_id=poll.pk)
    with framing():
        cast(voter.pk, poll, 3)
    assert participation_rows(poll, voter) == [
        ("voting.participation.created", 1, True),
        ("voting.participation.updated", 3, False),
        ("voting.participation.updated", 4, True),
    ]
    assert participation_rows(poll, other) == []
    row = OutboxEvent.objects.get(aggregate_id=f"{poll.pk}:{voter.pk}", aggregate_version=1)
    data = json.loads(bytes(row.payload))["data"]
    assert (data["poll_id"], data["account_id"], row.subject) == (
        str(poll.pk),
        str(voter.pk),
        f"voting.participation.{poll.pk}:{voter.pk}",
    )
    assert "allocations" not in data and "points" not in data  # who, never how


def test_a_refused_ballot_publishes_nothing():
    poll, voter = make_poll(causes=2), make_voter(points=5)
    with pytest.raises(ValidationError), transaction.atomic():
        cast(voter.pk, poll, 50)  # more points than the voter has
    assert participation_rows(poll, voter) == []
