"""The relay's two statements per batch, in plain SQL: lease due rows, and mark sent ones.

Leasing is one statement (an UPDATE of the rows a locking subquery picked with SKIP LOCKED,
returning them) in a transaction of its own. Through the ORM the two cost more than
publishing the batch.
"""

from __future__ import annotations

import uuid
from collections import namedtuple
from collections.abc import Sequence
from datetime import datetime

from django.db import connections, router, transaction
from django.db.models import Field

from .models import OutboxEvent

Claimed = namedtuple(
    "Claimed", "seq event_id event_type subject aggregate_version payload attempts request_id"
)

_META = OutboxEvent._meta
_CHUNK = 500  # seqs per statement, inside SQLite's limit on parameters


def _connection():
    return connections[router.db_for_write(OutboxEvent)]


def _column(name: str) -> str:
    field = _META.get_field(name)
    assert isinstance(field, Field)  # a column of the table, not a relation's far side
    return _connection().ops.quote_name(field.column)


def claim_due(
    *, token: uuid.UUID, now: datetime, lease_until: datetime, limit: int
) -> list[Claimed]:
    """Lease up to `limit` due rows, oldest first, to the claim `token` until `lease_until`.
    Returns them in commit order (seq)."""
    connection = _connection()
    table = connection.ops.quote_name(_META.db_table)
    c = _column
    prep = connection.ops.adapt_datetimefield_value
    token_value = _META.get_field("claim_token").get_db_prep_value(token, connection)
    postgresql = connection.vendor == "postgresql"
    # SQLite has no row locks (a write transaction excludes every other writer anyway).
    lock = " FOR UPDATE SKIP LOCKED" if postgresql else ""
    # Walk the pending index in order and stop at `limit`. Without fresh statistics (a burst
    # of new rows, a backlog after an outage) PostgreSQL would rather fetch every pending row
    # and sort them, for each claim: slowest just when the backlog is largest.
    ordered = "SET LOCAL enable_sort = off; " if postgresql else ""
    outer = connection.in_atomic_block
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            f"{ordered}UPDATE {table} SET {c('claim_token')} = %s, {c('claimed_until')} = %s"
            f" WHERE {c('seq')} IN (SELECT {c('seq')} FROM {table}"
            f" WHERE {c('published_at')} IS NULL AND {c('next_attempt_at')} <= %s"
            f" AND ({c('claimed_until')} IS NULL OR {c('claimed_until')} < %s)"
            f" ORDER BY {c('next_attempt_at')}, {c('seq')} LIMIT %s{lock})"
            f" RETURNING {c('seq')}, {c('event_id')}, {c('event_type')}, {c('subject')},"
            f" {c('aggregate_version')}, {c('payload')}, {c('attempts')}, {c('request_id')}",
            [token_value, prep(lease_until), prep(now), prep(now), limit],
        )
        rows = cursor.fetchall()
        if ordered and outer:
            cursor.execute("SET LOCAL enable_sort TO DEFAULT")  # the caller's transaction goes on
    event_id = _META.get_field("event_id")
    claimed = [
        Claimed(seq, event_id.to_python(eid), etype, subj, version, bytes(payload), tries, rid)
        for seq, eid, etype, subj, version, payload, tries, rid in rows
    ]
    claimed.sort(key=lambda r: r.seq)
    return claimed


def mark_sent(
    *, token: uuid.UUID, seqs: Sequence[int], now: datetime, superseded: bool = False
) -> int:
    """Mark rows of this claim published at `now` (or superseded by a newer state of their
    aggregate) and release the claim. Rows whose lease another relay took over meanwhile carry
    another token and are left alone."""
    connection = _connection()
    table = connection.ops.quote_name(_META.db_table)
    c = _column
    token_value = _META.get_field("claim_token").get_db_prep_value(token, connection)
    published = connection.ops.adapt_datetimefield_value(now)
    changed = 0
    with connection.cursor() as cursor:
        for start in range(0, len(seqs), _CHUNK):
            chunk = list(seqs[start : start + _CHUNK])
            cursor.execute(
                f"UPDATE {table} SET {c('published_at')} = %s, {c('superseded')} = %s,"
                f" {c('claim_token')} = NULL, {c('claimed_until')} = NULL"
                f" WHERE {c('claim_token')} = %s"
                f" AND {c('seq')} IN ({', '.join(['%s'] * len(chunk))})",
                [published, superseded, token_value, *chunk],
            )
            changed += cursor.rowcount
    return changed
