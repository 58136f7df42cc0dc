"""The ballot tables' indexes as migrated: every foreign key has exactly one index leading with
its column (a ballot writes every index of these tables, so a second one is only cost).
Migration 0007 drops indexes by name, apart from the model state, so the migrations' state
is checked against the models too."""

import pytest
from django.core.management import call_command
from django.db import connection

from voting.models import Allocation, Ballot, BallotRevision

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [Ballot, Allocation, BallotRevision])
def test_each_foreign_key_has_one_index_leading_with_it(model):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    leading = [
        c["columns"][0]
        for c in constraints.values()
        if (c["index"] or c["unique"]) and c["columns"] and not c["primary_key"]
    ]
    for field in model._meta.concrete_fields:
        if field.is_relation:
            assert leading.count(field.column) == 1, (field.column, constraints)


def test_the_migrations_state_equals_the_models():
    call_command("makemigrations", "voting", check=True, dry_run=True, verbosity=0)


def test_a_receipt_has_one_index_the_unique_one():
    """Receipts are looked up whole: no pattern index beside the unique one (migration 0015)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "voting_ballotrevision")
    on_receipt = [c for c in constraints.values() if c["columns"] == ["receipt"]]
    assert len(on_receipt) == 1 and on_receipt[0]["unique"], on_receipt
