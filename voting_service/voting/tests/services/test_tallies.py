"""Tallies: what is published and when, and the final count at the close."""

import dataclasses
import hashlib
import json
import random
from collections import defaultdict

import pytest
from django.conf import settings

from shared_events.core.consumer.apply import apply_batch
from shared_events.core.outbox.models import OutboxEvent
from shared_events.core.schemas import decode
from voting import services, tasks
from voting.models import Ballot, PollTally
from voting.selectors import tally_compute, tally_recount

from ..factories import (
    cast,
    make_poll,
    make_voter,
    poll_message,
    poll_state_of,
    set_poll,
)

pytestmark = pytest.mark.django_db


def tally_events(poll) -> list[dict]:
    rows = OutboxEvent.objects.filter(
        aggregate_id=str(poll.pk), event_type__startswith="voting.tally."
    ).order_by("seq")
    return [json.loads(bytes(r.payload)) for r in rows]


def test_refresh_publishes_only_when_the_tally_changed(poll):
    a, b = make_voter(), make_voter()
    assert services.tallies_refresh_open() == 1  # the first tally, zeros
    assert services.tallies_refresh_open() == 0
    cast(a, poll, 5)
    cast(b, poll, 1, 1)
    cast(b, poll, 2)
    assert services.tallies_refresh_open() == 1  # three ballots between ticks: one event
    cast(a, poll, 5)  # a re-vote that changes no count
    assert services.tallies_refresh_open() == 0
    services.ballot_retract(voter_id=b.pk, poll_id=poll.pk)
    assert services.tallies_refresh_open() == 1
    events = tally_events(poll)
    assert [e["version"] for e in events] == [1, 2, 3]
    assert [e["data"]["total_points"] for e in events] == [0, 7, 5]
    assert events[1]["data"]["causes"][0] == {"cause_id": poll.causes[0], "points": 7, "voters": 2}


def test_refresh_leaves_polls_that_are_not_open_alone(db):
    for status in ("draft", "scheduled", "closed", "finalized", "cancelled"):
        make_poll(status=status)
    PollTally.objects.filter(final=True).delete()
    OutboxEvent.objects.all().delete()
    assert services.tallies_refresh_open() == 0
    assert not PollTally.objects.exists()


def test_the_beat_task_refreshes_every_second_and_expires():
    entry = settings.CELERY_BEAT_SCHEDULE["voting-refresh-tallies"]
    assert entry == {"task": "voting.refresh_tallies", "schedule": 1.0, "options": {"expires": 5}}
    assert tasks.refresh_tallies.name == "voting.refresh_tallies"


def test_the_task_calls_the_refresh(poll):
    assert tasks.refresh_tallies.apply().get() == 1


def test_published_tally_events_decode_as_tally_state(poll):
    cast(make_voter(), poll, 3)
    services.tallies_refresh_open()
    row = OutboxEvent.objects.get(event_type="voting.tally.created")
    event = decode(bytes(row.payload))
    assert event.envelope.aggregate_id == str(poll.pk)
    assert (event.data.poll_id, event.data.ballots, event.data.final) == (str(poll.pk), 1, False)


def expected_digest(poll) -> str:
    """The digest recomputed from the documented format, without voting.digest."""
    lines = [f"charity-vote-ballots/1 poll={poll.pk}\n"]
    for ballot in Ballot.objects.filter(poll=poll, retracted_at__isnull=True).order_by("voter_id"):
        allocations = sorted(
            (str(a.cause_id), a.points) for a in ballot.allocations.all() if a.points > 0
        )
        lines.append(f"{ballot.voter_id} " + ",".join(f"{c}={p}" for c, p in allocations) + "\n")
    lines[1:] = sorted(lines[1:])
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def test_close_writes_the_final_tally_with_count_and_digest(poll):
    voters = [make_voter() for _ in range(4)]
    cast(voters[0], poll, 10, 20, 30)
    cast(voters[1], poll, 0, 5)
    cast(voters[2], poll, 1)
    cast(voters[3], poll, 9)
    services.ballot_retract(voter_id=voters[3].pk, poll_id=poll.pk)
    services.tallies_refresh_open()
    outcomes = apply_batch([poll_message(poll_state_of(poll, status="closed"), 2)])
    assert outcomes[0].note == ""
    tally = PollTally.objects.get(pk=poll.pk)
    assert (tally.final, tally.ballots, tally.total_points) == (True, 3, 66)
    assert tally.ballots_digest == expected_digest(poll)
    assert [c["points"] for c in tally.causes] == [11, 25, 30]
    assert [c["voters"] for c in tally.causes] == [2, 2, 1]
    last = tally_events(poll)[-1]
    assert last["data"]["final"] is True and last["data"]["ballots_digest"] == tally.ballots_digest


def test_finalization_is_idempotent(poll):
    voter = make_voter()
    cast(voter, poll, 10)
    closed = poll_state_of(poll, status="closed")
    apply_batch([poll_message(closed, 2)])
    first = PollTally.objects.get(pk=poll.pk)
    # Redelivered, a newer closed state (a title fix), then finalized by polls_service.
    apply_batch([poll_message(closed, 2)])
    apply_batch([poll_message(dataclasses.replace(closed, title="Round 1 (fixed)"), 3)])
    apply_batch([poll_message(dataclasses.replace(closed, status="finalized"), 4)])
    again = PollTally.objects.get(pk=poll.pk)
    assert (again.version, again.ballots_digest, again.computed_at) == (
        first.version,
        first.ballots_digest,
        first.computed_at,
    )
    assert sum(1 for e in tally_events(poll) if e["data"]["final"]) == 1
    services.tallies_refresh_open()  # even a poll reopened by mistake keeps its final tally
    assert PollTally.objects.get(pk=poll.pk).version == first.version


def test_a_poll_seen_first_when_finalized_still_gets_its_final_tally(db):
    poll = make_poll(status="finalized")
    assert PollTally.objects.get(pk=poll.pk).final


def test_a_cancelled_poll_gets_no_final_tally(poll):
    cast(make_voter(), poll, 10)
    services.tallies_refresh_open()
    set_poll(poll, status="cancelled")
    tally = PollTally.objects.get(pk=poll.pk)
    assert not tally.final and tally.ballots_digest is None
    assert services.tallies_refresh_open() == 0


def test_a_cause_removed_from_an_open_poll_still_shows_its_points(poll):
    voter = make_voter()
    cast(voter, poll, 0, 0, 8)
    shorter = set_poll(poll, causes=poll.causes[:2])
    services.tally_totals_advance()
    result = tally_compute(poll=shorter)
    assert result.causes[-1] == {"cause_id": poll.causes[2], "points": 8, "voters": 1}
    assert tally_recount(poll=shorter).causes == result.causes


def recount_from_history(poll) -> dict[str, tuple[int, int]]:
    """Points and voters per cause from each ballot's latest revision: the history, not the
    allocation rows the tally reads."""
    points, voters = defaultdict(int), defaultdict(int)
    for ballot in Ballot.objects.filter(poll=poll):
        latest = ballot.revisions.order_by("-number").first()
        for allocation in latest.allocations:
            if allocation["points"] > 0:
                points[allocation["cause"]] += allocation["points"]
                voters[allocation["cause"]] += 1
    return {c: (points[c], voters[c]) for c in points}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tallies_equal_a_recount_after_random_casts_revotes_and_retractions(seed):
    """The running totals, advanced at random moments, against the history and the final
    tally counted at the close."""
    rng = random.Random(seed)
    polls = [make_poll(causes=rng.randint(1, 5)) for _ in range(2)]
    voters = [make_voter(points=rng.randint(1, 50)) for _ in range(8)]
    for _ in range(120):
        voter, poll = rng.choice(voters), rng.choice(polls)
        if rng.random() < 0.2:
            try:
                services.ballot_retract(voter_id=voter.pk, poll_id=poll.pk)
            except Exception:
                pass  # nothing to retract
            continue
        causes = rng.sample(poll.causes, rng.randint(1, len(poll.causes)))
        budget = voter.points
        allocations = []
        for cause in causes:
            points = rng.randint(0, budget)
            budget -= points
            allocations.append({"cause": cause, "points": points})
        if not any(a["points"] for a in allocations):
            allocations[0]["points"] = 1
        services.ballot_cast(voter_id=voter.pk, poll_id=poll.pk, allocations=allocations)
        if rng.random() < 0.3:
            services.tallies_refresh_open()

    services.tally_totals_advance()  # the running totals count what the last tick did not
    for poll in polls:
        live = tally_compute(poll=poll)
        recount = recount_from_history(poll)
        assert {
            c["cause_id"]: (c["points"], c["voters"]) for c in live.causes if c["voters"]
        } == recount
        assert live.ballots == Ballot.objects.filter(poll=poll, retracted_at__isnull=True).count()
        assert live.total_points == sum(p for p, _ in recount.values())
        final = tally_recount(poll=poll)
        assert (final.causes, final.ballots, final.total_points) == (
            live.causes,
            live.ballots,
            live.total_points,
        )
        services.tallies_refresh_open()
        assert live.same_counts(PollTally.objects.get(pk=poll.pk))
        # The close counts the ballots themselves: the same as the last live tally.
        apply_batch([poll_message(poll_state_of(poll, status="closed"), 2)])
        closed = PollTally.objects.get(pk=poll.pk)
        assert closed.final and live.same_counts(closed)
