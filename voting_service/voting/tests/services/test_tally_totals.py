"""The running totals: each revision counted once, even when its transaction commits after a
later one was counted, on real connections (one per thread)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from voting import services
from voting.models import Ballot, BallotRevision, TallyWatermark
from voting.selectors import tally_compute, tally_recount

from ..factories import cast, make_poll, make_voter

pytestmark = pytest.mark.django_db(transaction=True)
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="ids committed out of order need PostgreSQL"
)


def counts(result) -> tuple:
    return (result.causes, result.ballots, result.total_points)


def held_cast(voter, poll, points, *, commit: bool):
    """Cast in a transaction of a thread's own and keep it open until released; then commit or
    roll back. Returns (the thread's future, written, release)."""
    written, release = threading.Event(), threading.Event()

    def run():
        try:
            with transaction.atomic():
                cast(voter, poll, *points)
                written.set()
                assert release.wait(20)
                if not commit:
                    transaction.set_rollback(True)
        finally:
            connection.close()

    pool = ThreadPoolExecutor(1)
    future = pool.submit(run)
    pool.shutdown(wait=False)
    assert written.wait(20)
    return future, release


@postgres_only
@pytest.mark.parametrize("commit", [True, False])
def test_a_revision_committed_after_a_later_one_was_counted_is_counted_once(commit):
    poll = make_poll(causes=2)
    early, late = make_voter(), make_voter()
    cast(early, poll, 1)
    services.tally_totals_advance()
    future, release = held_cast(early, poll, (4, 6), commit=commit)  # takes the lower id
    cast(late, poll, 0, 3)
    assert services.tally_totals_advance() == 1  # the late one; the early one is pending
    mark = TallyWatermark.objects.get()
    assert len(mark.pending) == 1 and mark.pending[0][0] < mark.last_revision_id
    release.set()
    future.result(20)
    assert services.tally_totals_advance() == (1 if commit else 0)
    assert TallyWatermark.objects.get().pending == []
    live = tally_compute(poll=poll)
    assert counts(live) == counts(tally_recount(poll=poll))
    assert live.ballots == 2
    assert [c["points"] for c in live.causes] == ([4, 9] if commit else [1, 3])
    assert services.tally_totals_advance() == 0  # nothing counted twice
    assert counts(tally_compute(poll=poll)) == counts(live)


def test_a_history_older_than_the_totals_is_counted_over_several_passes():
    poll = make_poll(causes=3)
    voters = [make_voter() for _ in range(5)]
    for i, voter in enumerate(voters):
        cast(voter, poll, i, 1, 2)
        cast(voter, poll, 0, i + 1)
    services.ballot_retract(voter_id=voters[0].pk, poll_id=poll.pk)
    TallyWatermark.objects.all().delete()  # as before the totals existed
    assert BallotRevision.objects.count() == 11
    passes = []
    while counted := services.tally_totals_advance(batch=4):
        passes.append(counted)
    assert passes == [4, 4, 3]
    live = tally_compute(poll=poll)
    assert counts(live) == counts(tally_recount(poll=poll))
    assert live.ballots == Ballot.objects.filter(retracted_at__isnull=True).count() == 4


def test_a_pass_under_way_makes_another_skip():
    poll = make_poll(causes=1)
    services.tally_totals_advance()  # the watermark's row exists from the first pass on
    cast(make_voter(), poll, 5)
    inside, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                TallyWatermark.objects.select_for_update().get(pk=1)
                inside.set()
                assert release.wait(20)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(hold)
        assert inside.wait(20)
        assert services.tally_totals_advance() == 0
        release.set()
        held.result(20)
    assert services.tally_totals_advance() == 1
