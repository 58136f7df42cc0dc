"""Ballots racing each other and the close, on real connections (one per thread).

The lock-ordering tests against the close need PostgreSQL's row locks (`FOR SHARE` against the
consumer's UPDATE); on SQLite every write transaction excludes the others anyway.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from shared_events.core.consumer.apply import Action, apply_batch
from shared_events.core.testing import wait_until
from voting import services
from voting.models import Ballot, PollPower, PollTally
from voting.selectors import tally_compute, tally_recount
from voting.services import ballot_sql
from voting.services import replicas as replica_services

from ..factories import ballot_body, client_for, make_poll, make_voter, poll_message, poll_state_of

pytestmark = pytest.mark.django_db(transaction=True)
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row-lock ordering needs PostgreSQL"
)


def in_thread(func):
    """Run func in a thread with its own database connection, closed at the end (a leftover
    connection would block dropping the test database)."""

    def run(*args):
        try:
            return func(*args)
        finally:
            connection.close()

    return run


def test_concurrent_ballots_of_one_voter_leave_exactly_one_ballot():
    poll = make_poll(causes=4)
    voter = make_voter(points=100)
    n = 8
    bodies = [ballot_body(poll, *[(i * 7 + k * 13) % 25 + 1 for k in range(4)]) for i in range(n)]
    start = threading.Barrier(n)

    @in_thread
    def cast(i):
        client = client_for(voter.pk)
        start.wait()
        return client.put(f"/voting/api/polls/{poll.pk}/ballot/", bodies[i], format="json")

    with ThreadPoolExecutor(n) as pool:
        responses = list(pool.map(cast, range(n)))
    assert Counter(r.status_code for r in responses) == {201: 1, 200: n - 1}, [
        r.content for r in responses
    ]

    ballot = Ballot.objects.get(poll=poll, voter=voter)
    revisions = list(ballot.revisions.order_by("number"))
    assert [r.number for r in revisions] == list(range(1, n + 1))
    assert sorted(map(str, (r.allocations for r in revisions))) == sorted(
        map(str, (b["allocations"] for b in bodies))
    )
    # The current allocations are the last revision's, whole: never a mix of two ballots.
    current = [
        {"cause": str(a.cause_id), "points": a.points}
        for a in ballot.allocations.order_by("position")
    ]
    assert current == revisions[-1].allocations
    services.tally_totals_advance()
    live = tally_compute(poll=poll)
    assert live.ballots == 1
    assert [c["points"] for c in live.causes] == [a["points"] for a in current]


def test_concurrent_ballots_of_many_voters_do_not_block_each_other_out():
    poll = make_poll(causes=2)
    voters = [make_voter(points=10) for _ in range(8)]
    start = threading.Barrier(len(voters))

    @in_thread
    def cast(voter):
        client = client_for(voter.pk)
        start.wait()
        first = client.put(
            f"/voting/api/polls/{poll.pk}/ballot/", ballot_body(poll, 3, 4), format="json"
        )
        second = client.put(
            f"/voting/api/polls/{poll.pk}/ballot/", ballot_body(poll, 5, 5), format="json"
        )
        return first.status_code, second.status_code

    with ThreadPoolExecutor(len(voters)) as pool:
        assert set(pool.map(cast, voters)) == {(201, 200)}
    services.tally_totals_advance()
    live = tally_compute(poll=poll)
    assert (live.ballots, live.total_points) == (8, 80)
    assert live.causes == tally_recount(poll=poll).causes


# A cast's locking read (voter FOR UPDATE, poll FOR SHARE), as pg_stat_activity shows it: the
# EXECUTE of its prepared statement.
CAST_READ = "EXECUTE voting_cast_read("


def _waiting_on_a_lock(fragment: str, kind: str = "%") -> bool:
    """A statement containing `fragment` waits on a lock, of `kind` if given (PostgreSQL's
    wait_event: `tuple`, `advisory`, ...)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND wait_event LIKE %s AND query ILIKE %s",
            [kind, f"%{fragment}%"],
        )
        return cursor.fetchone()[0] > 0


@postgres_only
def test_the_close_waits_for_a_ballot_in_flight_and_counts_it(monkeypatch):
    poll = make_poll(causes=2)
    early, in_flight = make_voter(), make_voter()
    services.ballot_cast(
        voter_id=early.pk, poll_id=poll.pk, allocations=[{"cause": poll.causes[0], "points": 5}]
    )
    locked, release = threading.Event(), threading.Event()

    def holding(original):
        def hold_after_locking(*args, **kwargs):
            # The ballot's locking read is done; this is its writes (with COMMIT in two round
            # trips, in the transaction's own otherwise).
            locked.set()
            assert release.wait(20)
            return original(*args, **kwargs)

        return hold_after_locking

    for name in ("write_and_commit", "write_rows"):
        monkeypatch.setattr(ballot_sql, name, holding(getattr(ballot_sql, name)))

    @in_thread
    def cast():
        return services.ballot_cast(
            voter_id=in_flight.pk,
            poll_id=poll.pk,
            allocations=[{"cause": poll.causes[1], "points": 7}],
        )

    @in_thread
    def close():
        return apply_batch([poll_message(poll_state_of(poll, status="closed"), 2)])

    with ThreadPoolExecutor(2) as pool:
        # 1. A ballot holds the poll row FOR SHARE and has not committed yet.
        ballot_future = pool.submit(cast)
        assert locked.wait(20)
        # 2. The consumer applies `closed`: its UPDATE waits for the ballot.
        close_future = pool.submit(close)
        wait_until(
            lambda: _waiting_on_a_lock("UPDATE"),
            timeout=20,
            message="the close to wait for the ballot's lock",
        )
        assert not close_future.done()
        # 3. The ballot commits; then the close goes through and counts it.
        release.set()
        ballot_future.result(20)
        assert [o.action for o in close_future.result(20)] == [Action.ACK]

    tally = PollTally.objects.get(pk=poll.pk)
    assert (tally.final, tally.ballots, tally.total_points) == (True, 2, 12)


@postgres_only
def test_no_ballot_commits_after_the_close(monkeypatch):
    poll = make_poll(causes=2)
    voter = make_voter()
    closing, release = threading.Event(), threading.Event()
    original = replica_services.tally_finalize

    def hold_before_finalizing(**kwargs):
        closing.set()
        assert release.wait(20)
        return original(**kwargs)

    monkeypatch.setattr(replica_services, "tally_finalize", hold_before_finalizing)

    @in_thread
    def close():
        return apply_batch([poll_message(poll_state_of(poll, status="closed"), 2)])

    @in_thread
    def cast():
        return client_for(voter.pk).put(
            f"/voting/api/polls/{poll.pk}/ballot/", ballot_body(poll, 1, 1), format="json"
        )

    with ThreadPoolExecutor(2) as pool:
        # 1. The consumer has updated the poll row to closed, not yet committed.
        close_future = pool.submit(close)
        assert closing.wait(20)
        # 2. A ballot arrives: it waits on its FOR SHARE lock of the poll row.
        ballot_future = pool.submit(cast)
        wait_until(
            lambda: _waiting_on_a_lock(CAST_READ),
            timeout=20,
            message="the ballot to wait for the close",
        )
        # 3. The close commits with its final tally; the ballot then sees `closed`.
        release.set()
        assert [o.action for o in close_future.result(20)] == [Action.ACK]
        response = ballot_future.result(20)

    assert response.status_code == 400 and response.json() == {"poll": ["This poll is closed."]}
    tally = PollTally.objects.get(pk=poll.pk)
    assert (tally.final, tally.ballots) == (True, 0)
    assert not Ballot.objects.exists()


def test_concurrent_refreshers_publish_each_change_once():
    poll = make_poll(causes=2)
    voter = make_voter()
    n = 6
    for points in (None, 3, 9):
        if points is not None:
            services.ballot_cast(
                voter_id=voter.pk,
                poll_id=poll.pk,
                allocations=[{"cause": poll.causes[0], "points": points}],
            )
        start = threading.Barrier(n)

        @in_thread
        def refresh(_, start=start):
            start.wait()
            return services.tally_refresh(poll_id=poll.pk)

        with ThreadPoolExecutor(n) as pool:
            assert sum(pool.map(refresh, range(n))) == 1
    tally = PollTally.objects.get(pk=poll.pk)
    assert (tally.version, tally.total_points) == (3, 9)


@postgres_only
@pytest.mark.parametrize("first_is_a_revote", [False, True])
def test_a_second_ballot_of_a_voter_waits_for_the_first_and_reads_it(
    monkeypatch, first_is_a_revote
):
    """The second of two ballots of one voter waits for the voter's lock, held by the first
    until it commits; its read, after the lock, sees the first's ballot: it reads once, and
    writes the next revision. One ballot, every revision, no mix."""
    poll = make_poll(causes=2)
    voter = make_voter(points=50)
    if first_is_a_revote:
        services.ballot_cast(
            voter_id=voter.pk, poll_id=poll.pk, allocations=[{"cause": poll.causes[0], "points": 1}]
        )
    first_holds, release = threading.Event(), threading.Event()
    reads = Counter()
    original_write, original_read = ballot_sql.write_and_commit, ballot_sql.begin_and_read

    def counting_read(*args, **kwargs):
        reads[threading.get_ident()] += 1
        return original_read(*args, **kwargs)

    def write(*args, **kwargs):
        if not first_holds.is_set():  # the first ballot: hold its locks until the second waits
            first_holds.set()
            assert release.wait(20)
        return original_write(*args, **kwargs)

    monkeypatch.setattr(ballot_sql, "begin_and_read", counting_read)
    monkeypatch.setattr(ballot_sql, "write_and_commit", write)

    @in_thread
    def cast(points):
        return services.ballot_cast(
            voter_id=voter.pk,
            poll_id=poll.pk,
            allocations=[{"cause": poll.causes[1], "points": points}],
        )

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(cast, 7)
        assert first_holds.wait(20)
        second = pool.submit(cast, 9)
        wait_until(
            # The voter's advisory lock (`ballot_sql`), not a row lock.
            lambda: _waiting_on_a_lock(CAST_READ, kind="advisory"),
            timeout=20,
            message="the second ballot to wait for the voter's lock",
        )
        release.set()
        first.result(20), second.result(20)

    assert sorted(reads.values()) == [1, 1]  # the second read after the first committed
    ballot = Ballot.objects.get(poll=poll, voter=voter)
    numbers = list(ballot.revisions.order_by("number").values_list("number", flat=True))
    assert numbers == ([1, 2, 3] if first_is_a_revote else [1, 2])
    revisions = list(ballot.revisions.order_by("number"))
    assert [r.previous_receipt for r in revisions] == [None] + [r.receipt for r in revisions[:-1]]
    assert ballot.revision == revisions[-1].number and ballot.receipt == revisions[-1].receipt
    assert [(str(a.cause_id), a.points) for a in ballot.allocations.all()] == [(poll.causes[1], 9)]
    services.tally_totals_advance()
    assert tally_compute(poll=poll).causes == tally_recount(poll=poll).causes


@postgres_only
def test_a_power_query_waits_for_a_ballot_of_its_voter(monkeypatch):
    """The power query's read (`lock_and_read`, a first need that may freeze the power) takes
    the same voter's lock: it waits for a ballot in flight and then sees its frozen power."""
    poll = make_poll(causes=2)
    voter = make_voter(points=40)
    holds, release = threading.Event(), threading.Event()
    original_write = ballot_sql.write_and_commit

    def write(*args, **kwargs):
        holds.set()
        assert release.wait(20)
        return original_write(*args, **kwargs)

    monkeypatch.setattr(ballot_sql, "write_and_commit", write)

    @in_thread
    def cast():
        return services.ballot_cast(
            voter_id=voter.pk, poll_id=poll.pk, allocations=[{"cause": poll.causes[0], "points": 3}]
        )

    @in_thread
    def power():
        return services.voter_power_in_poll(voter_id=voter.pk, poll_id=poll.pk)

    with ThreadPoolExecutor(2) as pool:
        ballot_future = pool.submit(cast)
        assert holds.wait(20)
        power_future = pool.submit(power)
        wait_until(
            lambda: _waiting_on_a_lock("pg_advisory_xact_lock"),
            timeout=20,
            message="the power query to wait for the voter's lock",
        )
        assert not power_future.done()
        release.set()
        ballot_future.result(20)
        answer = power_future.result(20)

    assert (answer.eligible, answer.power) == (True, 40)
    assert PollPower.objects.filter(poll=poll, voter_id=voter.pk).count() == 1


@postgres_only
def test_a_ballot_writes_nothing_to_the_voters_row():
    """Neither the voter's lock nor the ballot's reference to the voter writes the voter's row
    (a row lock would set its xmax: a write of its page on every ballot)."""
    poll = make_poll(causes=2)
    voter = make_voter(points=10)
    for points in (3, 4):  # a first cast and a re-vote
        services.ballot_cast(
            voter_id=voter.pk,
            poll_id=poll.pk,
            allocations=[{"cause": poll.causes[0], "points": points}],
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmax::text FROM voting_voter WHERE id = %s", [voter.pk])
        assert cursor.fetchone()[0] == "0"
    assert Ballot.objects.get(poll=poll, voter=voter).revision == 2
