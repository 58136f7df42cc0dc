"""Drop the revision receipt's second index, the `varchar_pattern_ops` one Django adds on
PostgreSQL beside a unique CharField for LIKE queries: a receipt is only ever looked up whole
(`selectors.receipt_check`, by the unique index), and every ballot wrote both, each at a random
place (a receipt is a hash). The model is unchanged: Django names this index the same on every
PostgreSQL database, and SQLite has none. CONCURRENTLY, so casts never queue behind the drop."""

from django.db import migrations

_INDEX = "voting_ballotrevision_receipt_9faeadd6_like"


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{_INDEX}"')


def _create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{_INDEX}"'
            ' ON "voting_ballotrevision" ("receipt" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("voting", "0014_ballot_voter_without_constraint"),
    ]

    operations = [migrations.RunPython(_drop, _create)]
