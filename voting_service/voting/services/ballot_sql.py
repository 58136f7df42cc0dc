"""The one write path of a ballot (a cast, a re-vote, a retraction), in raw SQL: lock the voter's
row and the poll's, read them with the voter's ballot in the poll and the voter's frozen power
there (`voting.eligibility.PowerRead`), and write what the caller makes of them (`plan`: the
ballot's revision, and the power frozen when this is its first need), or nothing when it
refuses; all in one transaction.

Raw SQL because a ballot is the hottest write (README, Performance). The two locks, always in
this order:

1. The voter's, a transaction-scoped advisory lock keyed by the voter's id (`voter_lock_key`),
   exclusive. Two ballots of one voter (a double click, two devices) serialize here, so there
   is exactly one ballot and its allocations are one revision's, never a mix. The lock is per
   voter, not per poll: a poll row locked for update by every ballot would be one hot row that
   all voters queue on. Not the voter's row FOR UPDATE: a row lock writes the row's page (its
   xmax), so every ballot would dirty a page of the voter table, one new page per voter, each
   a full-page image in the WAL after a checkpoint: a cost growing with the number of voters
   (README, The cost curve). So nothing of a ballot writes the voter's row, the ballot's
   foreign key to it included (`Ballot.voter`, no database constraint). The voter's row is
   read, not locked: an account event the consumer applies while a ballot is in flight orders
   after that ballot, as if it had arrived a moment later (the replica is a moment behind
   accounts anyway).
2. The poll's replica row, FOR SHARE. Ballots of different voters do not block one another, but
   whatever closes the poll here (the consumer applying its close, or the tally task closing a
   `closing` poll at its closes_at, see `services.closing`) locks the row FOR UPDATE, so it
   waits for the ballots in flight, and a ballot that starts after it sees `closed`. So the
   final tally, computed in that same transaction, counts every accepted ballot, and no ballot
   commits after it.

No deadlock with the consumer: it applies one stream per transaction and takes no voter lock,
and a ballot takes one voter's lock before the poll's. A locking read returns a row as it is
once the lock is granted (PostgreSQL reads again a row changed meanwhile), so the rules see the
poll's state that holds until the transaction ends; the voter's lock is taken in a statement of
its own before the read, so the read's snapshot already sees the voter's previous ballot.
SQLite takes no row locks: a write transaction there (BEGIN IMMEDIATE) already excludes every
other writer.

On PostgreSQL outside a transaction of the caller's a write is two round trips of statements
prepared once per connection (`BEGIN`, the voter's lock and the locking read, then the writes
with `COMMIT`), so the web needs a direct or session-mode connection, never a transaction-mode
pooler (PgBouncer's `pool_mode = transaction`). Everywhere else the same steps run in
`transaction.atomic()`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils.dateparse import parse_datetime

from shared_events.core.outbox.writer import PendingEvent, outbox_insert_statement
from shared_events.core.schemas.voting import ParticipationState
from shared_events.kit.chain_mode import open_eligibility

from ..eligibility import PowerFreeze, PowerRead
from ..models import (
    Allocation,
    Ballot,
    BallotRevision,
    EpochStake,
    PollPower,
    PollPowerTable,
    PollReplica,
    Voter,
)
from .prepared_statements import (
    PreparedStatementsStale,
    Statement,
    execute_prepared,
    prepare_on_this_connection,
)

_VOTER = Voter._meta.db_table
_POLL = PollReplica._meta.db_table
_BALLOT = Ballot._meta.db_table
_ALLOCATION = Allocation._meta.db_table
_REVISION = BallotRevision._meta.db_table
_POWER = PollPower._meta.db_table
_POWER_TABLE = PollPowerTable._meta.db_table
_STAKE = EpochStake._meta.db_table


@dataclass(frozen=True)
class Locked:
    """What the rules of a write read, under its locks, as unsaved model instances: the voter
    and the poll (None when not here), the voter's ballot in the poll (None before the
    first cast) and what the poll's power table says of the voter."""

    voter: Voter | None
    poll: PollReplica | None
    ballot: Ballot | None
    power: PowerRead = PowerRead()  # noqa: RUF009 (frozen, so shared safely)


@dataclass(frozen=True)
class BallotWrite:
    """The rows of one write: the ballot (inserted when `created`, updated otherwise), its
    current allocations replaced by `allocations`, its new `revision` appended, and the
    voter's power frozen when this is its first need (`power_freeze`), and in chain mode the
    stake address whose row of the table the voter's ballot takes hold of (`power_hold`)."""

    ballot: Ballot
    created: bool
    allocations: list[Allocation]
    revision: BallotRevision
    power_freeze: PowerFreeze | None = None
    power_hold: str | None = None
    # Whether the voter now has a counted ballot, when this write changed it (a first cast, a
    # retraction, a cast after one); None otherwise. Then a voting.participation event is
    # written with it: one outbox row per first cast, none for a replaced ballot.
    participation: bool | None = None


def ballot_write(
    *, voter_id: uuid.UUID, poll_id: uuid.UUID, plan: Callable[[Locked], BallotWrite]
) -> BallotWrite:
    """Lock, read, let `plan` check the rules and make the rows, write them and commit. `plan`
    raises the refusal instead when a rule fails: nothing is written and it propagates.
    Returns what was written, the ballot with its allocations in `current_allocations` (as
    `selectors.ballot_get` gives them), without reading it back."""
    if _may_run_own_transaction():
        written = _write_in_two_round_trips(voter_id=voter_id, poll_id=poll_id, plan=plan)
        if written is not None:
            return written
    # SQLite, a transaction of the caller's (a savepoint then), or what the two round trips
    # leave to a read that cannot be a moment old.
    with transaction.atomic():
        write = plan(lock_and_read(voter_id=voter_id, poll_id=poll_id))
        write_rows(write)
    return _written(write)


def _may_run_own_transaction() -> bool:
    """On PostgreSQL, and not inside a transaction of the caller's."""
    return (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and connection.get_autocommit()
    )


def _write_in_two_round_trips(
    *, voter_id: uuid.UUID, poll_id: uuid.UUID, plan: Callable[[Locked], BallotWrite]
) -> BallotWrite | None:
    """`BEGIN`, the voter's lock and one locking read of voter, poll and ballot together, then
    the writes and `COMMIT` together.

    The read runs once the voter's lock is granted, so it sees the voter's previous writes. A
    row it read may still be a moment old where another lock decides (chain mode's address
    row, read with the snapshot its statement started with): then the writes break a unique
    constraint instead of overwriting anything, and it reads again, as after a migration that
    made the connection's prepared statements stale. None, with nothing written, when the voter
    or the poll is not here (the serialized path says which) or when it still raced after three
    tries (the serialized path cannot)."""
    for _attempt in range(3):
        committed = False
        try:
            # Inside the try: an error after its BEGIN (a lock timeout, say) must roll back too.
            locked = begin_and_read(voter_id=voter_id, poll_id=poll_id)
            if locked is None:
                return None
            write = plan(locked)
            try:
                write_and_commit(write)
            except IntegrityError:
                continue  # read a moment old, see above: rolled back below, read again
            committed = True
        except PreparedStatementsStale:
            continue  # a migration ran meanwhile: rolled back below, prepared again
        finally:
            if not committed:
                rollback()
        return _written(write)
    return None


def _written(write: BallotWrite) -> BallotWrite:
    write.ballot._state.adding = False
    # What the selectors' prefetch sets (to_attr), which the stubs know only on a queryset.
    write.ballot.current_allocations = write.allocations  # type: ignore[attr-defined]
    return write


# The columns each row is read with, in the order `_voter`, `_poll` and `_ballot` take them.
_VOTER_COLUMNS = ("role", "is_active", "is_deleted", "points", "stake_address")
_POLL_COLUMNS = (
    "title",
    "status",
    "opens_at",
    "closes_at",
    "causes",
    "is_deleted",
    "power_formula",
    "min_stake_lovelace",
    "snapshot_epoch",
)
_BALLOT_COLUMNS = ("id", "revision", "receipt", "created_at", "retracted_at")
_BALLOT_AT = len(_VOTER_COLUMNS) + len(_POLL_COLUMNS)
_POWER_AT = _BALLOT_AT + len(_BALLOT_COLUMNS)
# The voter's power in the poll, of the voter `v` and the poll `p`, one indexed lookup each,
# in the order `_power` takes them. Open mode: the voter's own row only (the others NULL), so a
# ballot there looks up nothing it does not use. Chain mode: the table's cap (NULL: not
# frozen; -1: frozen without a cap), the row the voter's ballot holds (its first cast took
# hold of it: `voting.eligibility.address_to_hold`), the row of the voter's stake address
# (-1: a row without its power yet; -2: held by another voter's ballot) and their snapshot
# stake. The address's row is locked FOR UPDATE: two accounts with the same address (the
# replica between the events of an address moving) cannot both take hold of it, the second
# reads the first's hold once it commits.
_VOTER_ROW = f"(SELECT w.power FROM {_POWER} w WHERE w.poll_id = p.id AND w.voter_id = v.id)"
_POWER_SELECT_OPEN = f"NULL, {_VOTER_ROW}, NULL, NULL"


def _chain_power_select(*, lock: bool) -> str:
    return (
        f"(SELECT COALESCE(t.cap, -1) FROM {_POWER_TABLE} t WHERE t.poll_id = p.id),"
        f" (SELECT w.power FROM {_POWER} w WHERE w.poll_id = p.id AND w.voter_id = v.id"
        " AND w.stake_address IS NOT NULL),"
        " (SELECT CASE WHEN w.voter_id IS NOT NULL AND w.voter_id <> v.id THEN -2"
        f" ELSE COALESCE(w.power, -1) END FROM {_POWER} w"
        " WHERE w.poll_id = p.id AND w.stake_address = v.stake_address"
        + (" FOR UPDATE)," if lock else "),")
        + f" (SELECT e.lovelace FROM {_STAKE} e"
        " WHERE e.epoch = p.snapshot_epoch AND e.stake_address = v.stake_address)"
    )


_POWER_SELECT_CHAIN = _chain_power_select(lock=True)  # PostgreSQL's (`begin_and_read`)


def _power_select() -> str:
    """`lock_and_read`'s: SQLite has no row locks (its write transaction excludes the others)."""
    if open_eligibility():
        return _POWER_SELECT_OPEN
    return _chain_power_select(lock=connection.vendor == "postgresql")


def _columns(alias: str, names: Sequence[str]) -> str:
    return ", ".join(f"{alias}.{name}" for name in names)


def begin_and_read(*, voter_id: uuid.UUID, poll_id: uuid.UUID) -> Locked | None:
    """`BEGIN`, lock the voter (`voter_lock_key`), then lock the poll's row (FOR SHARE) and
    read it with the voter's and the ballot: one round trip. None when the voter or the poll is
    not here. The transaction stays open for `write_and_commit` (or `rollback`)."""
    with connection.cursor() as cursor:
        prepare_on_this_connection(cursor, _PREPARED)
        # Chain mode's read runs unprepared: the open mode's ballots are the ones in bulk.
        read = _READ_OPEN.execute if open_eligibility() else _READ_CHAIN.sql
        execute_prepared(
            cursor,
            f"BEGIN; {_LOCK_VOTER.execute}; {read}",
            [voter_lock_key(voter_id), voter_id, poll_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    voter = _voter(voter_id, row[: len(_VOTER_COLUMNS)])
    poll = _poll(poll_id, row[len(_VOTER_COLUMNS) : _BALLOT_AT])
    stored = row[_BALLOT_AT:_POWER_AT]
    return Locked(
        voter=voter,
        poll=poll,
        ballot=None if stored[0] is None else _ballot(voter, poll, stored),
        power=_power(row[_POWER_AT:]),
    )


def write_and_commit(write: BallotWrite) -> None:
    """`write_rows`'s statements and `COMMIT`, in one round trip."""
    sql, params = _joined(_write_statements(write))
    with connection.cursor() as cursor:  # begin_and_read prepared them on this connection
        execute_prepared(cursor, sql + "; COMMIT", params)


def rollback() -> None:
    """End the transaction `begin_and_read` opened, whatever state it is in. If the connection
    itself is broken, close it, so no request ever reuses a transaction left open."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("ROLLBACK")
    except Exception:
        connection.close()
        raise


def lock_and_read(*, voter_id: uuid.UUID, poll_id: uuid.UUID) -> Locked:
    """Inside a transaction: lock the voter (`voter_lock_key`), read the voter's row, lock and
    read the poll's, each read alone so that either may be missing, then read the ballot in a
    statement of its own, after the locks: it sees whatever the voter's previous write
    committed while this one waited."""
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgresql:
            cursor.execute(_LOCK_VOTER.sql, [voter_lock_key(voter_id)])
        cursor.execute(
            f"SELECT {', '.join(_VOTER_COLUMNS)} FROM {_VOTER} WHERE id = %s",
            [sql_uuid(voter_id)],
        )
        row = cursor.fetchone()
        voter = None if row is None else _voter(voter_id, row)
        cursor.execute(
            f"SELECT {', '.join(_POLL_COLUMNS)} FROM {_POLL} WHERE id = %s"
            + (" FOR SHARE" if postgresql else ""),
            [sql_uuid(poll_id)],
        )
        row = cursor.fetchone()
        poll = None if row is None else _poll(poll_id, row)
        if voter is None or poll is None:
            return Locked(voter=voter, poll=poll, ballot=None)
        cursor.execute(
            f"SELECT {', '.join(_BALLOT_COLUMNS)} FROM {_BALLOT}"
            " WHERE poll_id = %s AND voter_id = %s",
            [sql_uuid(poll_id), sql_uuid(voter_id)],
        )
        row = cursor.fetchone()
        cursor.execute(
            f"SELECT {_power_select()} FROM {_VOTER} v CROSS JOIN {_POLL} p"
            " WHERE v.id = %s AND p.id = %s",
            [sql_uuid(voter_id), sql_uuid(poll_id)],
        )
        power = _power(cursor.fetchone())
    return Locked(
        voter=voter,
        poll=poll,
        ballot=None if row is None else _ballot(voter, poll, row),
        power=power,
    )


def write_rows(write: BallotWrite) -> None:
    """Insert or update the ballot, replace its allocations and append its revision, inside a
    transaction."""
    statements = _write_statements(write)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            prepare_on_this_connection(cursor, _PREPARED)
            execute_prepared(cursor, *_joined(statements))
        else:
            for sql, params in statements:
                cursor.execute(sql, params)


def power_freeze_write(
    *, poll_id: uuid.UUID, voter_id: uuid.UUID, freeze: PowerFreeze, at: datetime
) -> None:
    """Freeze the voter's power without a ballot (a power query's first need), inside the
    transaction of a `lock_and_read`."""
    statement, params = _freeze_call(poll_id=poll_id, voter_id=voter_id, freeze=freeze, at=at)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)


def _freeze_call(
    *, poll_id: uuid.UUID, voter_id: uuid.UUID, freeze: PowerFreeze, at: datetime
) -> tuple[Statement, list[Any]]:
    if freeze.stake_address is None:
        return _FREEZE_VOTER_POWER, [
            sql_uuid(poll_id),
            sql_uuid(voter_id),
            freeze.uncapped,
            freeze.power,
            _datetime(at),
        ]
    return _FREEZE_ADDRESS_POWER, [
        freeze.uncapped,
        freeze.power,
        sql_uuid(poll_id),
        freeze.stake_address,
    ]


def _voter(voter_id: uuid.UUID, row: Sequence[Any]) -> Voter:
    role, is_active, is_deleted, points, stake_address = row
    return Voter(
        id=voter_id,
        role=role,
        is_active=bool(is_active),
        is_deleted=bool(is_deleted),
        points=int(points),
        stake_address=stake_address,
    )


def _poll(poll_id: uuid.UUID, row: Sequence[Any]) -> PollReplica:
    (
        title,
        status,
        opens_at,
        closes_at,
        causes,
        is_deleted,
        power_formula,
        min_stake_lovelace,
        snapshot_epoch,
    ) = row
    return PollReplica(
        id=poll_id,
        title=title,
        status=status,
        opens_at=_read_datetime(opens_at),
        closes_at=_read_datetime(closes_at),
        causes=json.loads(causes) if isinstance(causes, str) else causes,
        is_deleted=bool(is_deleted),
        power_formula=power_formula,
        min_stake_lovelace=int(min_stake_lovelace),
        snapshot_epoch=snapshot_epoch,
    )


def _power(row: Sequence[Any]) -> PowerRead:
    """`_POWER_SELECT`'s values, read in the mode the platform runs in."""
    cap, voter_power, address_power, snapshot_lovelace = row
    return PowerRead(
        open_mode=open_eligibility(),
        voter_power=voter_power,
        table_frozen=cap is not None,
        cap=None if cap is None or cap < 0 else cap,
        address_in_table=address_power is not None,
        address_power=None if address_power is None or address_power < 0 else address_power,
        address_held_elsewhere=address_power == -2,
        snapshot_lovelace=snapshot_lovelace,
    )


def _ballot(voter: Voter, poll: PollReplica, row: Sequence[Any]) -> Ballot:
    ballot_id, revision, receipt, created_at, retracted_at = row
    ballot = Ballot(
        id=_read_uuid(ballot_id),
        poll=poll,
        voter=voter,
        revision=int(revision),
        receipt=receipt,
        created_at=_read_datetime(created_at),
        retracted_at=None if retracted_at is None else _read_datetime(retracted_at),
    )
    ballot._state.adding = False
    return ballot


def voter_lock_key(voter_id: uuid.UUID) -> int:
    """The key of the voter's advisory lock: the id's two halves XORed (every bit counts, so
    ids sharing a prefix, time-ordered ones, still differ), signed as PostgreSQL's bigint. Two
    voters sharing a key would only queue on each other. The voting database takes no other
    advisory lock."""
    high, low = voter_id.int >> 64, voter_id.int & (1 << 64) - 1
    return int.from_bytes((high ^ low).to_bytes(8, "big"), "big", signed=True)


def sql_uuid(value: uuid.UUID) -> uuid.UUID | str:
    """A uuid as this database's raw SQL takes it (SQLite stores the hex)."""
    return value if connection.vendor == "postgresql" else value.hex


def _datetime(value: datetime | None) -> object:
    return None if value is None else connection.ops.adapt_datetimefield_value(value)


def _read_uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _read_datetime(value: object) -> datetime:
    """Aware, as the ORM gives it: SQLite holds naive UTC."""
    parsed = value if isinstance(value, datetime) else parse_datetime(str(value))
    assert parsed is not None, value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _joined(statements: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
    """Statements as one, run in order by PostgreSQL: one round trip."""
    return "; ".join(sql for sql, _ in statements), [p for _, ps in statements for p in ps]


def _write_statements(write: BallotWrite) -> list[tuple[str, list[Any]]]:
    """Insert or update the ballot, append its revision, replace its allocations: as EXECUTEs
    of the prepared statements on PostgreSQL, as plain statements elsewhere."""
    postgresql = connection.vendor == "postgresql"
    ballot, revision, allocations = write.ballot, write.revision, write.allocations
    ballot_id, poll_id = sql_uuid(ballot.pk), sql_uuid(ballot.poll_id)
    calls: list[tuple[Statement, list[object]]] = []
    if write.created:
        calls.append(
            (
                _INSERT_BALLOT,
                [
                    ballot_id,
                    poll_id,
                    sql_uuid(ballot.voter_id),
                    ballot.revision,
                    ballot.receipt,
                    _datetime(ballot.created_at),
                    _datetime(ballot.updated_at),
                ],
            )
        )
    else:
        calls.append((_CLEAR_ALLOCATIONS, [ballot_id]))
        calls.append(
            (
                _UPDATE_BALLOT,
                [
                    ballot.revision,
                    ballot.receipt,
                    _datetime(ballot.retracted_at),
                    _datetime(ballot.updated_at),
                    ballot_id,
                ],
            )
        )
    calls.append(
        (
            _INSERT_REVISION,
            [
                ballot_id,
                revision.number,
                revision.kind,
                json.dumps(revision.allocations),
                revision.total_points,
                revision.voter_points,
                _datetime(revision.created_at),
                revision.receipt,
                revision.previous_receipt,
                revision.nonce,
            ],
        )
    )
    statements = [(s.execute if postgresql else s.sql, params) for s, params in calls]
    if write.participation is not None:
        statements.append(_participation_event(write, voted=write.participation))
    if write.power_freeze is not None:
        # Unprepared: once per voter and poll, not on every ballot.
        freeze, params = _freeze_call(
            poll_id=ballot.poll_id,
            voter_id=ballot.voter_id,
            freeze=write.power_freeze,
            at=revision.created_at,
        )
        statements.append((freeze.sql, params))
    if write.power_hold is not None:
        # Unprepared too: once per voter and poll. After the freeze: a row is held with its power.
        statements.append(
            (
                _HOLD_ADDRESS_POWER.sql,
                [sql_uuid(ballot.voter_id), poll_id, write.power_hold],
            )
        )
    if not allocations:
        return statements  # a retraction
    if postgresql:
        # The causes and their points as two arrays: one statement whatever their number.
        statements.append(
            (
                _INSERT_ALLOCATIONS.execute,
                [
                    ballot_id,
                    poll_id,
                    [a.cause_id for a in allocations],
                    [a.points for a in allocations],
                ],
            )
        )
    else:
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(allocations))
        statements.append(
            (
                f"INSERT INTO {_ALLOCATION} (ballot_id, poll_id, cause_id, points, position)"
                f" VALUES {values}",
                [
                    v
                    for a in allocations
                    for v in (ballot_id, poll_id, sql_uuid(a.cause_id), a.points, a.position)
                ],
            )
        )
    return statements


def _participation_event(write: BallotWrite, *, voted: bool) -> tuple[str, list[Any]]:
    """The outbox row of voting.participation (who has voted, never how), in the write's own
    transaction. The ballot's revision number is the event's version: it grows with every
    write of this voter in this poll, so a later state always wins."""
    ballot = write.ballot
    poll_id, voter_id = str(ballot.poll_id), str(ballot.voter_id)
    return outbox_insert_statement(
        [
            PendingEvent(
                event_type="voting.participation.created"
                if write.created
                else "voting.participation.updated",
                aggregate_id=f"{poll_id}:{voter_id}",
                version=write.revision.number,
                data=ParticipationState(
                    poll_id=poll_id,
                    account_id=voter_id,
                    voted=voted,
                    at=write.revision.created_at.isoformat(),
                ),
            )
        ]
    )


def _read(name: str, power_select: str) -> Statement:
    """PostgreSQL only (`begin_and_read`). The ballot is left-joined: the voter may have none
    yet."""
    return Statement(
        name,
        ("uuid", "uuid"),
        f"SELECT {_columns('v', _VOTER_COLUMNS)}, {_columns('p', _POLL_COLUMNS)},"
        f" {_columns('b', _BALLOT_COLUMNS)}, {power_select}"
        f" FROM {_VOTER} v CROSS JOIN {_POLL} p"
        f" LEFT JOIN {_BALLOT} b ON b.poll_id = p.id AND b.voter_id = v.id"
        " WHERE v.id = %s AND p.id = %s FOR SHARE OF p",
    )


# The voter's lock (see the module's docstring), in a statement of its own before the read: the
# read's snapshot is taken once the lock is granted.
_LOCK_VOTER = Statement("voting_cast_lock_voter", ("bigint",), "SELECT pg_advisory_xact_lock(%s)")


# One per mode (a setting, read on every write); the open mode's is prepared.
_READ_OPEN = _read("voting_cast_read", _POWER_SELECT_OPEN)
_READ_CHAIN = _read("voting_cast_read_chain", _POWER_SELECT_CHAIN)
# Text, not varchar(n), parameters: a value too long for its column is refused by the insert,
# where a cast to varchar(n) would cut it.
_INSERT_BALLOT = Statement(
    "voting_cast_insert_ballot",
    ("uuid", "uuid", "uuid", "integer", "text", "timestamptz", "timestamptz"),
    f"INSERT INTO {_BALLOT} (id, poll_id, voter_id, revision, retracted_at, receipt,"
    " created_at, updated_at) VALUES (%s, %s, %s, %s, NULL, %s, %s, %s)",
)
_CLEAR_ALLOCATIONS = Statement(
    "voting_cast_clear_allocations", ("uuid",), f"DELETE FROM {_ALLOCATION} WHERE ballot_id = %s"
)
_UPDATE_BALLOT = Statement(
    "voting_cast_update_ballot",
    ("integer", "text", "timestamptz", "timestamptz", "uuid"),
    f"UPDATE {_BALLOT} SET revision = %s, receipt = %s, retracted_at = %s,"
    " updated_at = %s WHERE id = %s",
)
_INSERT_REVISION = Statement(
    "voting_cast_insert_revision",
    ("uuid", "integer", "text", "jsonb", "bigint", "bigint", "timestamptz", "text", "text", "text"),
    f"INSERT INTO {_REVISION} (ballot_id, number, kind, allocations, total_points,"
    " voter_points, created_at, receipt, previous_receipt, nonce)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
)
# PostgreSQL only: the causes and their points as two arrays, positions in the order given.
_INSERT_ALLOCATIONS = Statement(
    "voting_cast_insert_allocations",
    ("uuid", "uuid", "uuid[]", "bigint[]"),
    f"INSERT INTO {_ALLOCATION} (ballot_id, poll_id, cause_id, points, position)"
    " SELECT %s, %s, given.cause, given.points, given.n - 1"
    " FROM unnest(%s, %s) WITH ORDINALITY AS given(cause, points, n)",
)
# The first need of a voter's power in a poll freezes it (`voting.eligibility.voter_power`),
# in statements run unprepared (`Statement.sql`). A plain INSERT: a row another write froze
# since this one read breaks the unique constraint, and the write reads again
# (`_write_in_two_round_trips`).
_FREEZE_VOTER_POWER = Statement(
    "voting_cast_freeze_voter_power",
    ("uuid", "uuid", "bigint", "bigint", "timestamptz"),
    f"INSERT INTO {_POWER} (poll_id, stake_address, voter_id, lovelace, loyalty, uncapped,"
    " power, frozen_at) VALUES (%s, NULL, %s, NULL, NULL, %s, %s, %s)",
)
_FREEZE_ADDRESS_POWER = Statement(
    "voting_cast_freeze_address_power",
    ("bigint", "bigint", "uuid", "text"),
    f"UPDATE {_POWER} SET uncapped = %s, power = %s"
    " WHERE poll_id = %s AND stake_address = %s AND power IS NULL",
)
# A voter's first ballot in a chain-mode poll takes hold of its stake address's row, for the
# poll: the address's power counts once, whichever account holds the address later
# (`voting.eligibility.address_to_hold`). The read locked the row and saw it free.
_HOLD_ADDRESS_POWER = Statement(
    "voting_cast_hold_address_power",
    ("uuid", "uuid", "text"),
    f"UPDATE {_POWER} SET voter_id = %s"
    " WHERE poll_id = %s AND stake_address = %s AND voter_id IS NULL",
)
_PREPARED = (
    _LOCK_VOTER,
    _READ_OPEN,
    _INSERT_BALLOT,
    _CLEAR_ALLOCATIONS,
    _UPDATE_BALLOT,
    _INSERT_REVISION,
    _INSERT_ALLOCATIONS,
)
