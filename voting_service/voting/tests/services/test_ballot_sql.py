"""On PostgreSQL a cast runs prepared statements (`services.ballot_sql`), prepared once per
database connection. These follow them across what a connection lives through: a reconnect,
a reconnect by the health check that opens a request's first cursor, a rolled-back
transaction."""

import uuid

import pytest
from django.db import connection, connections, transaction

from voting import services
from voting.models import Ballot

from ..factories import make_poll, make_voter

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="prepared statements are the PostgreSQL path"
    ),
]


def _prepared_at() -> dict[str, object]:
    """The cast's statements prepared on this connection, with when each was prepared."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, prepare_time FROM pg_prepared_statements WHERE name LIKE 'voting_cast_%%'"
        )
        return dict(cursor.fetchall())


def _prepared_here() -> set[str]:
    return set(_prepared_at())


def _cast(voter, poll, points: int) -> Ballot:
    ballot, _ = services.ballot_cast(
        voter_id=voter.pk,
        poll_id=poll.pk,
        allocations=[
            {"cause": poll.causes[0], "points": points},
            {"cause": poll.causes[1], "points": 1},
        ],
    )
    return ballot


def _stored(voter, poll) -> list[tuple[str, int, int]]:
    ballot = Ballot.objects.get(voter=voter, poll=poll)
    return [
        (str(a.cause_id), a.points, a.position) for a in ballot.allocations.order_by("position")
    ]


def test_a_cast_prepares_its_statements_once_and_again_on_a_new_connection():
    poll, voter = make_poll(causes=3), make_voter(points=50)
    connection.close()
    assert _prepared_here() == set()
    _cast(voter, poll, 5)
    first = _prepared_at()
    prepared = set(first)
    assert {
        "voting_cast_lock_voter",
        "voting_cast_read",
        "voting_cast_insert_ballot",
        "voting_cast_update_ballot",
        "voting_cast_clear_allocations",
        "voting_cast_insert_allocations",
        "voting_cast_insert_revision",
    } == prepared
    _cast(voter, poll, 6)
    assert _prepared_at() == first  # used as they were, not prepared again
    connection.close()
    _cast(voter, poll, 7)
    assert _prepared_here() == prepared
    assert _stored(voter, poll) == [(poll.causes[0], 7, 0), (poll.causes[1], 1, 1)]
    assert Ballot.objects.get(voter=voter, poll=poll).revision == 3


def test_a_reconnect_by_the_health_check_prepares_again():
    """The server ends the connection (a restart, an idle timeout): the next request's health
    check, in its first cursor, reconnects; the cast must prepare on that new connection."""
    poll, voter = make_poll(causes=3), make_voter(points=50)
    _cast(voter, poll, 5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])  # waits for the end
    finally:
        other.close()
    # What a request's start does with CONN_HEALTH_CHECKS on (the test client skips it).
    enabled = connection.health_check_enabled
    connection.health_check_enabled, connection.health_check_done = True, False
    try:
        _cast(voter, poll, 9)
    finally:
        connection.health_check_enabled = enabled
    assert _stored(voter, poll) == [(poll.causes[0], 9, 0), (poll.causes[1], 1, 1)]


def test_statements_prepared_in_a_rolled_back_transaction_stay_prepared():
    poll, voter = make_poll(causes=3), make_voter(points=50)
    connection.close()

    class Undo(Exception):
        pass

    # Inside a transaction of the caller's the cast takes its other path; it prepares there.
    with pytest.raises(Undo), transaction.atomic():
        _cast(voter, poll, 5)
        raise Undo
    assert not Ballot.objects.exists()
    survived = _prepared_at()
    assert "voting_cast_insert_ballot" in survived
    _cast(voter, poll, 8)  # outside any transaction: uses them without preparing again
    assert _prepared_at() == survived
    assert _stored(voter, poll) == [(poll.causes[0], 8, 0), (poll.causes[1], 1, 1)]


def test_a_half_prepared_connection_prepares_again():
    """A batch of PREPAREs that failed half-way (a lock timeout, say) left the first ones
    prepared: the next cast on that connection must not fail on preparing them again."""
    poll, voter = make_poll(causes=3), make_voter(points=50)
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("PREPARE voting_cast_read AS SELECT 1")
    _cast(voter, poll, 4)
    assert _stored(voter, poll) == [(poll.causes[0], 4, 0), (poll.causes[1], 1, 1)]


def test_statements_gone_behind_its_back_are_prepared_again_within_the_cast():
    poll, voter = make_poll(causes=3), make_voter(points=50)
    _cast(voter, poll, 5)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    _cast(voter, poll, 6)  # its first EXECUTE fails; it rolls back, prepares and reads again
    assert _stored(voter, poll) == [(poll.causes[0], 6, 0), (poll.causes[1], 1, 1)]
    assert "voting_cast_read" in _prepared_here()


def test_a_migration_that_changes_a_column_the_read_returns_does_not_break_open_connections():
    """The deploy migrates while running web pods keep their connections: PostgreSQL refuses a
    prepared statement whose result type changed ("cached plan must not change result
    type"). The cast prepares again and goes through."""
    poll, voter = make_poll(causes=3), make_voter(points=50)
    _cast(voter, poll, 5)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("ALTER TABLE voting_ballot ALTER COLUMN receipt TYPE varchar(80)")
        _cast(voter, poll, 6)
        assert _stored(voter, poll) == [(poll.causes[0], 6, 0), (poll.causes[1], 1, 1)]
    finally:
        connection.close()  # its plans know the column as changed; the next one prepares anew
        with other.cursor() as cursor:
            cursor.execute("ALTER TABLE voting_ballot ALTER COLUMN receipt TYPE varchar(64)")
        other.close()


def test_the_voters_lock_key_uses_every_bit_of_the_id():
    """Ids sharing their first half (time-ordered ones made in the same millisecond do) still
    get keys of their own, each a PostgreSQL bigint."""
    from voting.services.ballot_sql import voter_lock_key

    a = uuid.UUID("01a2532e-db70-7892-a0bb-259ea8046bbb")
    b = uuid.UUID("01a2532e-db70-7892-807c-3a3f2c6a220a")
    keys = {voter_lock_key(v) for v in (a, b, uuid.UUID(int=(1 << 128) - 2))}
    assert len(keys) == 3 and all(-(2**63) <= k < 2**63 for k in keys)
