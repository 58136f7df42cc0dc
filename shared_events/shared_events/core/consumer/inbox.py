"""The inbox's hot statements, in plain SQL: which of a batch's event ids were applied before,
and recording the ones applied now; on PostgreSQL both at once (`inbox_claim`). Through the
ORM they were much of a batch's cost.
On PostgreSQL a batch travels as one parameter (an array literal, a JSON array) rather than
psycopg2 quoting five parameters a row."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import orjson
from django.db import connections, router

from .models import ProcessedEvent

_CHUNK = 500  # ids or rows per statement, well inside SQLite's limit on parameters


def inbox_connection():
    """The connection the inbox is written on (the one a batch's transaction uses)."""
    return connections[router.db_for_write(ProcessedEvent)]


def inbox_seen(event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """The ids among these that the inbox holds already."""
    connection = inbox_connection()
    field = ProcessedEvent._meta.get_field("event_id")
    table = connection.ops.quote_name(ProcessedEvent._meta.db_table)
    seen: set[uuid.UUID] = set()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            by_text = {str(i): i for i in event_ids}
            cursor.execute(
                f"SELECT event_id::text FROM {table} WHERE event_id = ANY(%s::uuid[])",
                ["{" + ",".join(by_text) + "}"],
            )
            return {by_text[row[0]] for row in cursor.fetchall()}
        for start in range(0, len(event_ids), _CHUNK):
            chunk = event_ids[start : start + _CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT event_id FROM {table} WHERE event_id IN ({marks})",
                [field.get_db_prep_value(i, connection) for i in chunk],
            )
            seen.update(field.to_python(row[0]) for row in cursor.fetchall())
    return seen


def inbox_can_claim() -> bool:
    """Whether `inbox_claim` runs on this database (PostgreSQL)."""
    return inbox_connection().vendor == "postgresql"


def inbox_claim(
    rows: Sequence[tuple[uuid.UUID, str, str, int]], *, now: datetime
) -> set[uuid.UUID]:
    """Insert (event id, event type, stream, stream seq) rows, processed at `now`, skipping
    the ids the inbox holds already; returns the ids inserted now (PostgreSQL). A row another
    transaction is inserting waits for it: taken if that one rolls back, skipped if it commits."""
    connection = inbox_connection()
    event_id = connection.ops.quote_name(ProcessedEvent._meta.get_field("event_id").column)
    by_text = {str(row[0]): row[0] for row in rows}
    with connection.cursor() as cursor:
        cursor.execute(
            _insert_from_json(connection)
            + f" ON CONFLICT ({event_id}) DO NOTHING RETURNING {event_id}::text",
            _json_params(connection, rows, now),
        )
        return {by_text[row[0]] for row in cursor.fetchall()}


def _insert_from_json(connection) -> str:
    """PostgreSQL: insert inbox rows given as one JSON array of (event id, event type, stream,
    stream seq), with the processed time as the first parameter (`_json_params`)."""
    table = connection.ops.quote_name(ProcessedEvent._meta.db_table)
    return (
        f"INSERT INTO {table} ({_columns(connection)}) SELECT (r->>0)::uuid, r->>1, r->>2,"
        " (r->>3)::bigint, %s FROM json_array_elements(%s::json) AS r"
    )


def _json_params(connection, rows: Sequence[tuple[uuid.UUID, str, str, int]], now: datetime):
    processed_at = ProcessedEvent._meta.get_field("processed_at").get_db_prep_save(now, connection)
    return [processed_at, orjson.dumps(rows).decode()]  # a UUID as its canonical text


def _columns(connection) -> str:
    fields = {f.name: f for f in ProcessedEvent._meta.concrete_fields}
    return ", ".join(
        connection.ops.quote_name(fields[n].column)
        for n in ("event_id", "event_type", "stream", "stream_seq", "processed_at")
    )


def inbox_record(rows: Sequence[tuple[uuid.UUID, str, str, int]], *, now: datetime) -> None:
    """Insert (event id, event type, stream, stream seq) rows, processed at `now`."""
    if not rows:
        return
    connection = inbox_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_insert_from_json(connection), _json_params(connection, rows, now))
        return
    meta = ProcessedEvent._meta
    event_id = meta.get_field("event_id")
    processed_at = meta.get_field("processed_at").get_db_prep_save(now, connection)
    table, columns = connection.ops.quote_name(meta.db_table), _columns(connection)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            params: list[object] = []
            for id_, event_type, stream, stream_seq in chunk:
                params += [
                    event_id.get_db_prep_value(id_, connection),
                    event_type,
                    stream,
                    stream_seq,
                    processed_at,
                ]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk)),
                params,
            )
