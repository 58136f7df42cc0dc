"""Drop the foreign keys' own indexes where another index leads with the same column: every
index is written on each insert of a ballot, allocation or revision, and these were never the
best one for any read (each sits beside a unique constraint or index on that column first).

Only the indexes go: Django's AlterField would also drop and re-add each foreign-key
constraint, checking every existing row again under a lock. On PostgreSQL they go
CONCURRENTLY (hence a migration outside a transaction), so casts never queue behind the drop.
The names are Django's, the same on PostgreSQL and SQLite."""

import django.db.models.deletion
from django.db import migrations, models

# (table, column, the index Django named for that foreign key)
_COVERED = [
    ("voting_allocation", "ballot_id", "voting_allocation_ballot_id_05467b85"),
    ("voting_allocation", "poll_id", "voting_allocation_poll_id_4f848984"),
    ("voting_ballot", "poll_id", "voting_ballot_poll_id_72d7169f"),
    ("voting_ballot", "voter_id", "voting_ballot_voter_id_b93802da"),
    ("voting_ballotrevision", "ballot_id", "voting_ballotrevision_ballot_id_77096ecf"),
]


def _concurrently(schema_editor) -> str:
    return "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""


def _drop(apps, schema_editor):
    for _table, _column, index in _COVERED:
        schema_editor.execute(f'DROP INDEX {_concurrently(schema_editor)}IF EXISTS "{index}"')


def _create(apps, schema_editor):
    for table, column, index in _COVERED:
        schema_editor.execute(f'CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS'
                              f' "{index}" ON "{table}" ("{column}")')


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ('voting', '0006_ballot_writes_lighter'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_drop, _create)],
            state_operations=[
                migrations.AlterField(
                    model_name='allocation',
                    name='ballot',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='allocations', to='voting.ballot'),
                ),
                migrations.AlterField(
                    model_name='allocation',
                    name='poll',
                    field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='voting.pollreplica'),
                ),
                migrations.AlterField(
                    model_name='ballot',
                    name='poll',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='ballots', to='voting.pollreplica'),
                ),
                migrations.AlterField(
                    model_name='ballot',
                    name='voter',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='ballots', to='voting.voter'),
                ),
                migrations.AlterField(
                    model_name='ballotrevision',
                    name='ballot',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='revisions', to='voting.ballot'),
                ),
            ],
        ),
    ]
