"""Lighter ballot writes on PostgreSQL: re-votes as HOT updates (no index on the ballot's
updated_at, the voter's ballots being few to sort, and room on each page for the next version
of a row), and no foreign-key check from an allocation to the poll (it locked the one poll row
for every allocation of every concurrent ballot; the ballot's own key to the poll stands)."""

import django.db.models.deletion
from django.db import migrations, models


def _fillfactor(value: int):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE voting_ballot SET (fillfactor = {value})")

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('voting', '0005_receipt_unique'),
    ]

    operations = [
        migrations.RunPython(_fillfactor(80), _fillfactor(100)),
        migrations.RemoveIndex(
            model_name='ballot',
            name='ballot_voter_recent_idx',
        ),
        migrations.AddIndex(
            model_name='ballot',
            index=models.Index(fields=['voter'], name='ballot_voter_idx'),
        ),
        migrations.AlterField(
            model_name='allocation',
            name='poll',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='voting.pollreplica'),
        ),
    ]
