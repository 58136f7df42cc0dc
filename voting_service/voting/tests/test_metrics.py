"""voting's metrics: ballots_total counts each committed ballot write by poll and action; a
refused write counts nothing."""

import pytest
from prometheus_client import REGISTRY

from voting import services

from .factories import make_poll, make_voter

pytestmark = pytest.mark.django_db(transaction=True)


def ballots(poll, action: str) -> float:
    labels = {"service": "voting", "poll": str(poll.pk), "action": action}
    return REGISTRY.get_sample_value("ballots_total", labels) or 0.0


def cast(voter, poll, points: int):
    return services.ballot_cast(
        voter_id=voter.pk,
        poll_id=poll.pk,
        allocations=[{"cause": poll.causes[0], "points": points}],
    )


def test_casts_revisions_and_retractions_are_counted_per_poll():
    poll, other = make_poll(causes=2), make_poll(causes=2)
    alice, bob = make_voter(points=50), make_voter(points=50)
    cast(alice, poll, 5)
    cast(bob, poll, 5)
    cast(alice, poll, 7)  # a new allocation replaces the ballot
    services.ballot_retract(voter_id=bob.pk, poll_id=poll.pk)
    cast(alice, other, 1)
    assert (ballots(poll, "cast"), ballots(poll, "revised"), ballots(poll, "retracted")) == (
        2,
        1,
        1,
    )
    assert (ballots(other, "cast"), ballots(other, "revised")) == (1, 0)


def test_a_refused_ballot_is_not_counted():
    poll, voter = make_poll(causes=2), make_voter(points=5)
    with pytest.raises(Exception):  # noqa: B017 (the refusal's type is test_ballots' subject)
        cast(voter, poll, 500)  # more points than the voter has
    with pytest.raises(Exception):  # noqa: B017
        services.ballot_retract(voter_id=voter.pk, poll_id=poll.pk)  # nothing to retract
    assert (ballots(poll, "cast"), ballots(poll, "retracted")) == (0, 0)
