"""The SQL of the common ballot write: an eligible voter casting in an open poll.

Raw SQL because a ballot is the hottest write (README, Performance): the same locks and rows
as `services.ballots`. Off the happy path it returns None and the caller's ORM path says which
rule failed. On PostgreSQL a cast is two round trips of statements prepared once per
connection, so the web needs a direct or session-mode connection, never a transaction-mode
pooler (PgBouncer's `pool_mode = transaction`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from django.db import DatabaseError, connection
from django.utils.dateparse import parse_datetime

from ..models import Allocation, Ballot, BallotRevision, PollReplica, PollStatus, Voter

_VOTER = Voter._meta.db_table
_POLL = PollReplica._meta.db_table
_BALLOT = Ballot._meta.db_table
_ALLOCATION = Allocation._meta.db_table
_REVISION = BallotRevision._meta.db_table


@dataclass(frozen=True)
class Eligible:
    """What a ballot needs of its voter and poll, read under their locks."""

    points: int
    poll_title: str
    poll_causes: frozenset[str]
    poll_status: str


@dataclass(frozen=True)
class StoredBallot:
    id: uuid.UUID
    revision: int
    receipt: str
    created_at: datetime


def _uuid(value: uuid.UUID) -> uuid.UUID | str:
    return value if connection.vendor == "postgresql" else value.hex


def _datetime(value: datetime) -> object:
    return connection.ops.adapt_datetimefield_value(value)


def _read_uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _read_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    parsed = parse_datetime(str(value))
    assert parsed is not None, value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# Whether the voter may vote and the poll is open, by its status and by the clock. The
# conditions are on the rows the statements lock, so PostgreSQL checks them again against a row
# that changed while it waited for the lock (a close that committed meanwhile means no row).
# A closing poll takes ballots like an open one until its closes_at (`services.closing`).
_ELIGIBLE_WHERE = (
    " WHERE v.id = %s AND v.is_active AND NOT v.is_deleted AND v.role = %s"
    " AND p.id = %s AND NOT p.is_deleted AND p.status IN (%s, %s)"
    " AND p.opens_at <= %s AND p.closes_at > %s")


def _eligible_params(voter_id: uuid.UUID, poll_id: uuid.UUID, now: datetime) -> list[object]:
    return [_uuid(voter_id), "delegator", _uuid(poll_id), PollStatus.OPEN.value,
            PollStatus.CLOSING.value, _datetime(now), _datetime(now)]


def _eligible(points: object, title: str, causes: object, status: str) -> Eligible:
    if isinstance(causes, str):
        causes = json.loads(causes)
    return Eligible(points=int(points), poll_title=title,
                    poll_causes=frozenset(str(c) for c in causes), poll_status=status)


def _stored(ballot_id: object, number: object, receipt: str, created_at: object) -> StoredBallot:
    return StoredBallot(id=_read_uuid(ballot_id), revision=int(number), receipt=receipt,
                        created_at=_read_datetime(created_at))


def lock_eligible(*, voter_id: uuid.UUID, poll_id: uuid.UUID, now: datetime) -> Eligible | None:
    """Lock the voter's row (FOR UPDATE) and the poll's (FOR SHARE) in one statement, and read
    them if the voter may vote and the poll is open (`_ELIGIBLE_WHERE`)."""
    lock = " FOR UPDATE OF v FOR SHARE OF p" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT v.points, p.title, p.causes, p.status FROM {_VOTER} v, {_POLL} p"
            + _ELIGIBLE_WHERE + lock, _eligible_params(voter_id, poll_id, now))
        row = cursor.fetchone()
    return None if row is None else _eligible(*row)


def stored_ballot(*, voter_id: uuid.UUID, poll_id: uuid.UUID) -> StoredBallot | None:
    """The voter's ballot in the poll. A statement of its own, after the locks: it must see
    what the voter's previous ballot committed while this one waited for the voter's lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, revision, receipt, created_at FROM {_BALLOT}"
            " WHERE poll_id = %s AND voter_id = %s", [_uuid(poll_id), _uuid(voter_id)])
        row = cursor.fetchone()
    return None if row is None else _stored(*row)


def may_run_own_transaction() -> bool:
    """Whether a cast may open and commit its transaction itself (`begin_and_read`,
    `write_and_commit`): on PostgreSQL, and not inside a transaction of the caller's."""
    return (connection.vendor == "postgresql" and not connection.in_atomic_block
            and connection.get_autocommit())


def begin_and_read(*, voter_id: uuid.UUID, poll_id: uuid.UUID,
                   now: datetime) -> tuple[Eligible, StoredBallot | None] | None:
    """`BEGIN`, then `lock_eligible` and `stored_ballot` in one statement: one round trip.
    The transaction stays open for `write_and_commit` (or `rollback`); the ballot is read with
    the statement's snapshot, so a moment old if this waited for the voter's lock (the caller
    copes, see `services.ballots._cast_in_two_round_trips`)."""
    with connection.cursor() as cursor:
        _prepare_on_this_connection(cursor)
        _execute_prepared(cursor, f"BEGIN; {_READ.execute}",
                          _eligible_params(voter_id, poll_id, now))
        row = cursor.fetchone()
    if row is None:
        return None
    eligible = _eligible(*row[:4])
    return eligible, (None if row[4] is None else _stored(*row[4:]))


def write_and_commit(*, ballot: Ballot, created: bool, allocations: Sequence[Allocation],
                     revision: BallotRevision) -> None:
    """`write_cast`'s statements and `COMMIT`, in one round trip."""
    statements = _cast_statements(ballot=ballot, created=created, allocations=allocations,
                                  revision=revision)
    sql, params = _joined(statements)
    with connection.cursor() as cursor:  # begin_and_read prepared them on this connection
        _execute_prepared(cursor, sql + "; COMMIT", params)


def rollback() -> None:
    """End the transaction `begin_and_read` opened, whatever state it is in. If the connection
    itself is broken, close it, so no request ever reuses a transaction left open."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("ROLLBACK")
    except Exception:
        connection.close()
        raise


def write_cast(*, ballot: Ballot, created: bool, allocations: Sequence[Allocation],
               revision: BallotRevision) -> None:
    """Insert or update the ballot, replace its allocations and append its revision."""
    statements = _cast_statements(ballot=ballot, created=created, allocations=allocations,
                                  revision=revision)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _prepare_on_this_connection(cursor)
            _execute_prepared(cursor, *_joined(statements))
        else:
            for sql, params in statements:
                cursor.execute(sql, params)


def _joined(statements: list[tuple[str, list[object]]]) -> tuple[str, list[object]]:
    """Statements as one, run in order by PostgreSQL: one round trip."""
    return "; ".join(sql for sql, _ in statements), [p for _, ps in statements for p in ps]


def _cast_statements(*, ballot: Ballot, created: bool, allocations: Sequence[Allocation],
                     revision: BallotRevision) -> list[tuple[str, list[object]]]:
    """Insert or update the ballot, append its revision, replace its allocations: as EXECUTEs
    of the prepared statements on PostgreSQL, as plain statements elsewhere."""
    postgresql = connection.vendor == "postgresql"
    ballot_id, poll_id = _uuid(ballot.pk), _uuid(ballot.poll_id)
    calls: list[tuple[_Statement, list[object]]] = []
    if created:
        calls.append((_INSERT_BALLOT, [
            ballot_id, poll_id, _uuid(ballot.voter_id), ballot.revision, ballot.receipt,
            _datetime(ballot.created_at), _datetime(ballot.updated_at)]))
    else:
        calls.append((_CLEAR_ALLOCATIONS, [ballot_id]))
        calls.append((_UPDATE_BALLOT, [ballot.revision, ballot.receipt,
                                       _datetime(ballot.updated_at), ballot_id]))
    calls.append((_INSERT_REVISION, [
        ballot_id, revision.number, revision.kind, json.dumps(revision.allocations),
        revision.total_points, revision.voter_points, _datetime(revision.created_at),
        revision.receipt, revision.previous_receipt, revision.nonce]))
    statements = [(s.execute if postgresql else s.sql, params) for s, params in calls]
    if postgresql:
        # The causes and their points as two arrays: one statement whatever their number.
        statements.append((_INSERT_ALLOCATIONS.execute, [
            ballot_id, poll_id, [a.cause_id for a in allocations],
            [a.points for a in allocations]]))
    else:
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(allocations))
        statements.append((
            f"INSERT INTO {_ALLOCATION} (ballot_id, poll_id, cause_id, points, position)"
            f" VALUES {values}",
            [v for a in allocations for v in (ballot_id, poll_id, _uuid(a.cause_id), a.points,
                                               a.position)]))
    return statements


@dataclass(frozen=True)
class _Statement:
    """A statement of the cast: run as it is (`sql`, with `%s` parameters) on SQLite, and on
    PostgreSQL prepared once per connection under `name` with parameters of `types`."""

    name: str
    types: tuple[str, ...]
    sql: str

    @cached_property
    def execute(self) -> str:
        return f"EXECUTE {self.name}({', '.join(['%s'] * len(self.types))})"

    @property
    def prepare(self) -> str:
        numbered = self.sql
        for n in range(1, len(self.types) + 1):
            numbered = numbered.replace("%s", f"${n}", 1)
        return f"PREPARE {self.name} ({', '.join(self.types)}) AS {numbered}"


# Text, not varchar(n), parameters: a value too long for its column is refused by the insert,
# where a cast to varchar(n) would cut it.
_READ = _Statement(
    "voting_cast_read", ("uuid", "text", "uuid", "text", "text", "timestamptz", "timestamptz"),
    "SELECT v.points, p.title, p.causes, p.status, b.id, b.revision, b.receipt, b.created_at"
    f" FROM {_VOTER} v CROSS JOIN {_POLL} p"
    f" LEFT JOIN {_BALLOT} b ON b.poll_id = p.id AND b.voter_id = v.id"
    + _ELIGIBLE_WHERE + " FOR UPDATE OF v FOR SHARE OF p")
_INSERT_BALLOT = _Statement(
    "voting_cast_insert_ballot",
    ("uuid", "uuid", "uuid", "integer", "text", "timestamptz", "timestamptz"),
    f"INSERT INTO {_BALLOT} (id, poll_id, voter_id, revision, retracted_at, receipt,"
    " created_at, updated_at) VALUES (%s, %s, %s, %s, NULL, %s, %s, %s)")
_CLEAR_ALLOCATIONS = _Statement(
    "voting_cast_clear_allocations", ("uuid",),
    f"DELETE FROM {_ALLOCATION} WHERE ballot_id = %s")
_UPDATE_BALLOT = _Statement(
    "voting_cast_update_ballot", ("integer", "text", "timestamptz", "uuid"),
    f"UPDATE {_BALLOT} SET revision = %s, receipt = %s, retracted_at = NULL,"
    " updated_at = %s WHERE id = %s")
_INSERT_REVISION = _Statement(
    "voting_cast_insert_revision",
    ("uuid", "integer", "text", "jsonb", "bigint", "bigint", "timestamptz", "text", "text",
     "text"),
    f"INSERT INTO {_REVISION} (ballot_id, number, kind, allocations, total_points,"
    " voter_points, created_at, receipt, previous_receipt, nonce)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
# PostgreSQL only: the causes and their points as two arrays, positions in the order given.
_INSERT_ALLOCATIONS = _Statement(
    "voting_cast_insert_allocations", ("uuid", "uuid", "uuid[]", "bigint[]"),
    f"INSERT INTO {_ALLOCATION} (ballot_id, poll_id, cause_id, points, position)"
    " SELECT %s, %s, given.cause, given.points, given.n - 1"
    " FROM unnest(%s, %s) WITH ORDINALITY AS given(cause, points, n)")
_PREPARED = (_READ, _INSERT_BALLOT, _CLEAR_ALLOCATIONS, _UPDATE_BALLOT, _INSERT_REVISION,
             _INSERT_ALLOCATIONS)


def _prepare_on_this_connection(cursor: Any) -> None:
    """Prepare the cast's statements on this PostgreSQL connection, once, and again after a
    reconnect (a new DB-API connection). Given an open cursor: opening it ran the request's
    health check, which may have reconnected. A prepared statement outlives a rolled-back
    transaction, so preparing inside the caller's is safe."""
    raw = connection.connection
    if getattr(connection, "_voting_cast_prepared_on", None) is raw:
        return
    # DEALLOCATE first: a batch that failed half-way (a lock timeout, a cancel) left the
    # statements before the failure prepared, and preparing one again is an error. ALL is
    # safe: nothing else prepares statements on these connections (psycopg2 never does).
    cursor.execute("DEALLOCATE ALL; " + "; ".join(s.prepare for s in _PREPARED))
    # The DB-API connection itself, held so that a later one is never mistaken for it.
    connection._voting_cast_prepared_on = raw


class PreparedStatementsStale(DatabaseError):
    """The connection's prepared statements no longer fit the database: a migration changed a
    column a statement returns ("cached plan must not change result type"), or they are gone.
    They are prepared again at the next cast on this connection; the caller may retry."""


# feature_not_supported (the cached plan's result type), invalid_sql_statement_name (gone),
# duplicate_prepared_statement (prepared behind this module's back).
_STALE_PREPARED = {"0A000", "26000", "42P05"}


def _execute_prepared(cursor: Any, sql: str, params: list[object]) -> None:
    try:
        cursor.execute(sql, params)
    except DatabaseError as exc:
        if getattr(exc.__cause__, "pgcode", None) not in _STALE_PREPARED:
            raise
        connection._voting_cast_prepared_on = None
        raise PreparedStatementsStale(str(exc)) from exc
