"""The shared lock on a poll replica row that orders ballots (and live tallies) before the close.

Ballots and tally refreshes hold the poll row FOR SHARE: they do not block one another, but
the consumer's UPDATE that applies the poll's `closed` state waits until they commit, and
whatever starts after that UPDATE waits for its commit and then sees `closed`. Django has no
FOR SHARE, hence the raw SQL (PostgreSQL only; SQLite already serializes writers).
"""

from __future__ import annotations

import uuid

from django.db import connection

from shared_events.kit.errors import NotFound

from ..eligibility import NO_SUCH_POLL
from ..models import PollReplica, PollStatus


def poll_lock_shared(poll_id: uuid.UUID) -> PollReplica:
    """Lock the poll row against the close and read it, in one statement: a locking read
    returns the row as it is once the lock is granted (PostgreSQL re-reads a row that a
    concurrent close updated meanwhile), so the status seen is the one that holds until this
    transaction ends. Raises NotFound for a poll that is unknown here, deleted or a draft (not
    shown to anyone, as `selectors.poll_get`)."""
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        table, pk = quote(PollReplica._meta.db_table), quote(PollReplica._meta.pk.column)
        poll = next(
            iter(
                PollReplica.objects.raw(
                    f"SELECT * FROM {table} WHERE {pk} = %s FOR SHARE", [poll_id]
                )
            ),
            None,
        )
    elif connection.vendor == "sqlite":
        # A write transaction on SQLite (BEGIN IMMEDIATE) already excludes every other writer.
        poll = PollReplica.objects.filter(pk=poll_id).first()
    else:
        # No portable shared row lock: an exclusive one is correct, only less concurrent.
        poll = PollReplica.objects.select_for_update().filter(pk=poll_id).first()
    if poll is None or poll.is_deleted or poll.status == PollStatus.DRAFT:
        raise NotFound(NO_SUCH_POLL)
    return poll
