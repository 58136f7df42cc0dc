"""Statements prepared once per PostgreSQL connection, for the hottest write (the ballot's,
`ballot_sql`): PostgreSQL then parses and plans each once per connection, not on every call.

A prepared statement lives as long as its connection, not its transaction, and no longer fits
once a migration changes a column it returns; both are handled here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import DatabaseError, connection


@dataclass(frozen=True)
class Statement:
    """A statement run as it is (`sql`, with `%s` parameters) where nothing is prepared, and on
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


def prepare_on_this_connection(cursor: Any, statements: Sequence[Statement]) -> None:
    """Prepare the statements on this PostgreSQL connection, once, and again after a
    reconnect (a new DB-API connection). Given an open cursor: opening it ran the request's
    health check, which may have reconnected. A prepared statement outlives a rolled-back
    transaction, so preparing inside the caller's is safe."""
    raw = connection.connection
    if getattr(connection, "_voting_prepared_on", None) is raw:
        return
    # DEALLOCATE first: a batch that failed half-way (a lock timeout, a cancel) left the
    # statements before the failure prepared, and preparing one again is an error. ALL is
    # safe: the ballot's are the only statements prepared on these connections (psycopg2
    # itself never prepares any).
    cursor.execute("DEALLOCATE ALL; " + "; ".join(s.prepare for s in statements))
    # The DB-API connection itself, held so that a later one is never mistaken for it.
    setattr(connection, "_voting_prepared_on", raw)  # noqa: B010 (an attribute of our own)


class PreparedStatementsStale(DatabaseError):
    """The connection's prepared statements no longer fit the database: a migration changed a
    column a statement returns ("cached plan must not change result type"), or they are gone.
    They are prepared again at the next `prepare_on_this_connection` on this connection."""


# feature_not_supported (the cached plan's result type), invalid_sql_statement_name (gone),
# duplicate_prepared_statement (prepared behind this module's back).
_STALE_PREPARED = {"0A000", "26000", "42P05"}


def execute_prepared(cursor: Any, sql: str, params: Sequence[object]) -> None:
    """Execute `sql` (EXECUTEs of prepared statements); `PreparedStatementsStale` when they no
    longer fit or are gone."""
    try:
        cursor.execute(sql, params)
    except DatabaseError as exc:
        if getattr(exc.__cause__, "pgcode", None) not in _STALE_PREPARED:
            raise
        setattr(connection, "_voting_prepared_on", None)  # noqa: B010
        raise PreparedStatementsStale(str(exc)) from exc
