"""Ballot.voter without its foreign-key constraint: the check at each ballot's commit locked
the voter's row FOR KEY SHARE, a write of the row's page (see `services.ballot_sql`)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("voting", "0013_tally_running_totals"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ballot",
            name="voter",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ballots",
                to="voting.voter",
            ),
        ),
    ]
