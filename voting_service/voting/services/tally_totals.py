"""Running totals per poll, advanced by the tally task from the revisions written since its
last pass, so the once-a-second refresh costs what the ballots since the last second cost,
not what all of them do.

Every ballot write appends one `BallotRevision` holding the ballot's whole new allocation
list, so what one revision changes in its poll's counts is its own allocations less those of
the revision before it (none before the first; a retraction holds none). Counting each
revision exactly once therefore keeps the totals equal to a count of the ballots' current
allocations, whatever the order revisions of different ballots are counted in. Nothing is
added to the ballot's own transaction: no counter row that every ballot of a poll would queue
on.

Exactly once: the watermark row, the totals and the pending ids change in one transaction,
under the watermark row's lock (one pass at a time). Revision ids come from a sequence, so a
transaction may commit an id below one already counted; an id missing below the highest
counted is kept `pending` and looked for again on each pass until no transaction that began
before it was seen missing is still open (`pg_stat_activity`; the services' one database role
sees its own sessions), after which it can only have rolled back. A session left idle in a
transaction keeps such ids pending longer: looked for again on each pass, never lost. SQLite
has one writer at a time, whose ids are above every committed one, so nothing is pending
there.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

from ..models import Ballot, BallotRevision, PollTallyTotals, TallyWatermark

# A pass counts at most this many revisions; a backlog (the first pass over an old history)
# is worked off over several ticks, each transaction short.
BATCH = 50_000

_REVISION = BallotRevision._meta.db_table
_BALLOT = Ballot._meta.db_table

_SELECT = f"""
SELECT r.id, b.poll_id, r.allocations, p.allocations
FROM {_REVISION} r
JOIN {_BALLOT} b ON b.id = r.ballot_id
LEFT JOIN {_REVISION} p ON p.ballot_id = r.ballot_id AND p.number = r.number - 1
"""


@dataclass
class _Delta:
    points: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    voters: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ballots: int = 0

    def add(self, allocations: list[dict] | None, sign: int) -> None:
        counted = False
        for allocation in allocations or ():
            if allocation["points"] > 0:
                self.points[allocation["cause"]] += sign * allocation["points"]
                self.voters[allocation["cause"]] += sign
                counted = True
        self.ballots += sign * counted


def _decoded(value: object) -> list[dict] | None:
    # psycopg decodes jsonb; SQLite hands back the text.
    if isinstance(value, str):
        return json.loads(value)
    return value  # type: ignore[return-value]


def _oldest_open_transaction() -> datetime | None:
    """When the oldest transaction still open in this database (other than ours) began."""
    with connection.cursor() as cursor:
        # Fresh: PostgreSQL keeps what a transaction first read of the view until it ends.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT min(xact_start) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _now_in_database() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def tally_totals_advance(*, batch: int = BATCH) -> int:
    """Count into each poll's running totals the revisions not counted yet. Returns how many
    were counted; 0 too when another pass holds the watermark."""
    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        if not TallyWatermark.objects.filter(pk=1).exists():  # the first pass ever
            TallyWatermark.objects.bulk_create([TallyWatermark(pk=1)], ignore_conflicts=True)
        mark = TallyWatermark.objects.select_for_update(skip_locked=True).filter(pk=1).first()
        if mark is None:
            return 0  # another pass is counting
        pending = {int(i): seen for i, seen in mark.pending}
        rows: list[tuple] = []
        if pending:
            # Read who is open before looking: a transaction that ends after this read keeps
            # its id pending one more pass, and one that ended before it is visible below.
            oldest = _oldest_open_transaction()
            with connection.cursor() as cursor:
                cursor.execute(_SELECT + " WHERE r.id = ANY(%s)", [list(pending)])
                rows += cursor.fetchall()
            for found in rows:
                pending.pop(found[0], None)
            pending = {
                i: seen
                for i, seen in pending.items()
                if oldest is not None and oldest <= datetime.fromisoformat(seen)
            }
        with connection.cursor() as cursor:
            cursor.execute(
                _SELECT + " WHERE r.id > %s ORDER BY r.id LIMIT %s", [mark.last_revision_id, batch]
            )
            new = cursor.fetchall()
        if postgres and new:
            seen_at = _now_in_database().isoformat()
            ids = {row[0] for row in new}
            for missing in range(mark.last_revision_id + 1, new[-1][0]):
                if missing not in ids:
                    pending[missing] = seen_at
        rows += new
        if new:
            mark.last_revision_id = new[-1][0]
        mark.pending = sorted([i, seen] for i, seen in pending.items())
        mark.save(update_fields=["last_revision_id", "pending"])
        _apply(_deltas(rows))
    return len(rows)


def _deltas(rows: list[tuple]) -> dict[uuid.UUID, _Delta]:
    deltas: dict[uuid.UUID, _Delta] = defaultdict(_Delta)
    for _id, poll_id, allocations, previous in rows:
        delta = deltas[poll_id]
        delta.add(_decoded(allocations), +1)
        delta.add(_decoded(previous), -1)
    return deltas


def _apply(deltas: dict[uuid.UUID, _Delta]) -> None:
    if not deltas:
        return
    existing = {t.pk: t for t in PollTallyTotals.objects.filter(pk__in=list(deltas))}
    created = []
    for poll_id, delta in deltas.items():
        totals = existing.get(poll_id) or PollTallyTotals(poll_id=poll_id)
        causes = dict(totals.causes)
        for cause in set(delta.points) | set(delta.voters):
            points, voters = causes.get(cause, (0, 0))
            points, voters = points + delta.points[cause], voters + delta.voters[cause]
            if voters:
                causes[cause] = [points, voters]
            else:
                causes.pop(cause, None)
        totals.causes = causes
        totals.ballots += delta.ballots
        if poll_id in existing:
            totals.save(update_fields=["causes", "ballots"])
        else:
            created.append(totals)
    PollTallyTotals.objects.bulk_create(created)
