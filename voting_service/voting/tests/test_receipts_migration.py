"""Revisions stored before receipts existed get a complete chain when the migration runs."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from voting.receipts import revision_receipt

BEFORE = [("voting", "0003_bench_row")]
AFTER = [("voting", "0005_receipt_unique")]


@pytest.mark.django_db(transaction=True)
def test_existing_revisions_are_chained_in_order():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    voter = apps.get_model("voting", "Voter").objects.create(
        id=uuid.uuid4(),
        source_version=1,
        role="delegator",
        is_active=True,
        points=50,
        joined_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    cause = str(uuid.uuid4())
    now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    poll = apps.get_model("voting", "PollReplica").objects.create(
        id=uuid.uuid4(),
        source_version=1,
        title="old",
        fund_lovelace=1,
        opens_at=now,
        closes_at=now + timedelta(days=1),
        status="open",
        results_visibility="live",
        causes=[cause],
    )
    ballot = apps.get_model("voting", "Ballot").objects.create(poll=poll, voter=voter, revision=2)
    Revision = apps.get_model("voting", "BallotRevision")
    for number, points in ((2, 7), (1, 3)):  # stored out of order: the chain follows numbers
        Revision.objects.create(
            ballot=ballot,
            number=number,
            kind="cast",
            allocations=[{"cause": cause, "points": points}],
            total_points=points,
            voter_points=50,
            created_at=now + timedelta(minutes=number),
        )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    rows = list(apps.get_model("voting", "BallotRevision").objects.order_by("number"))
    previous = None
    for row in rows:
        assert row.previous_receipt == previous and len(row.nonce) == 32
        assert row.receipt == revision_receipt(
            poll_id=poll.pk,
            previous=previous,
            number=row.number,
            kind=row.kind,
            at=row.created_at,
            allocations=[(a["cause"], a["points"]) for a in row.allocations],
            nonce=row.nonce,
        )
        previous = row.receipt
    assert apps.get_model("voting", "Ballot").objects.get(pk=ballot.pk).receipt == previous
