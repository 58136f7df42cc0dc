"""The SQL of the common ballot write: an eligible voter casting in an open poll.

Raw SQL because a ballot is the platform's hottest write and the ORM cost about 0.7 ms of CPU
per statement, most of a ballot's cost (`manage_all.py bench`). It takes the same locks, in the
same order, as `services.ballots` documents, and writes the same rows. Anything off the happy
path (an unknown, deactivated or deleted voter, a poll that is not open) returns None, and the
caller's ORM path, in the same transaction, finds out which rule failed and says so.

On PostgreSQL the writes of one ballot go as one round trip (statements joined with `;`, run
in order); on SQLite, where a statement costs no round trip, one by one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
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


def lock_eligible(*, voter_id: uuid.UUID, poll_id: uuid.UUID, now: datetime) -> Eligible | None:
    """Lock the voter's row (FOR UPDATE) and the poll's (FOR SHARE) in one statement, and read
    them if the voter may vote and the poll is open by its status and by the clock.

    The conditions are on the locked rows, so PostgreSQL checks them again against a row that
    changed while this waited for its lock (a close that committed meanwhile means no row)."""
    lock = " FOR UPDATE OF v FOR SHARE OF p" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT v.points, p.title, p.causes FROM {_VOTER} v, {_POLL} p"
            " WHERE v.id = %s AND v.is_active AND NOT v.is_deleted AND v.role = %s"
            " AND p.id = %s AND NOT p.is_deleted AND p.status = %s"
            " AND p.opens_at <= %s AND p.closes_at > %s" + lock,
            [_uuid(voter_id), "delegator", _uuid(poll_id), PollStatus.OPEN.value, _datetime(now),
             _datetime(now)])
        row = cursor.fetchone()
    if row is None:
        return None
    points, title, causes = row
    if isinstance(causes, str):
        causes = json.loads(causes)
    return Eligible(points=int(points), poll_title=title,
                    poll_causes=frozenset(str(c) for c in causes))


def stored_ballot(*, voter_id: uuid.UUID, poll_id: uuid.UUID) -> StoredBallot | None:
    """The voter's ballot in the poll. A statement of its own, after the locks: it must see
    what the voter's previous ballot committed while this one waited for the voter's lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, revision, receipt, created_at FROM {_BALLOT}"
            " WHERE poll_id = %s AND voter_id = %s", [_uuid(poll_id), _uuid(voter_id)])
        row = cursor.fetchone()
    if row is None:
        return None
    return StoredBallot(id=_read_uuid(row[0]), revision=int(row[1]), receipt=row[2],
                        created_at=_read_datetime(row[3]))


def write_cast(*, ballot: Ballot, created: bool, allocations: Sequence[Allocation],
               revision: BallotRevision) -> None:
    """Insert or update the ballot, replace its allocations and append its revision."""
    ballot_id, poll_id = _uuid(ballot.pk), _uuid(ballot.poll_id)
    statements: list[tuple[str, list[object]]] = []
    if created:
        statements.append((
            f"INSERT INTO {_BALLOT} (id, poll_id, voter_id, revision, retracted_at, receipt,"
            " created_at, updated_at) VALUES (%s, %s, %s, %s, NULL, %s, %s, %s)",
            [ballot_id, poll_id, _uuid(ballot.voter_id), ballot.revision, ballot.receipt,
             _datetime(ballot.created_at), _datetime(ballot.updated_at)]))
    else:
        statements.append((f"DELETE FROM {_ALLOCATION} WHERE ballot_id = %s", [ballot_id]))
        statements.append((
            f"UPDATE {_BALLOT} SET revision = %s, receipt = %s, retracted_at = NULL,"
            " updated_at = %s WHERE id = %s",
            [ballot.revision, ballot.receipt, _datetime(ballot.updated_at), ballot_id]))
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(allocations))
    statements.append((
        f"INSERT INTO {_ALLOCATION} (ballot_id, poll_id, cause_id, points, position)"
        f" VALUES {values}",
        [v for a in allocations for v in (ballot_id, poll_id, _uuid(a.cause_id), a.points,
                                           a.position)]))
    statements.append((
        f"INSERT INTO {_REVISION} (ballot_id, number, kind, allocations, total_points,"
        " voter_points, created_at, receipt, previous_receipt, nonce)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [ballot_id, revision.number, revision.kind, json.dumps(revision.allocations),
         revision.total_points, revision.voter_points, _datetime(revision.created_at),
         revision.receipt, revision.previous_receipt, revision.nonce]))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("; ".join(sql for sql, _ in statements),
                           [p for _, params in statements for p in params])
        else:
            for sql, params in statements:
                cursor.execute(sql, params)
