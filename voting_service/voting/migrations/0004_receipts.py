"""Receipts for every ballot revision (format in voting.receipts), chained per ballot.

Revisions stored before receipts existed get theirs here, in order, each with a fresh nonce, so
every ballot's chain is complete. Final tallies already published keep no receipts digest:
their polls closed before receipts existed. The receipt becomes required and unique in the
next migration (its own transaction: PostgreSQL refuses to alter a table with the updates of
this one pending).
"""

from django.db import migrations, models


def chain_existing_revisions(apps, schema_editor):
    from voting.receipts import new_nonce, revision_receipt

    Ballot = apps.get_model("voting", "Ballot")
    BallotRevision = apps.get_model("voting", "BallotRevision")
    for ballot in Ballot.objects.iterator(chunk_size=500):
        previous = None
        for revision in BallotRevision.objects.filter(ballot=ballot).order_by("number"):
            nonce = new_nonce()
            receipt = revision_receipt(
                poll_id=ballot.poll_id, previous=previous, number=revision.number,
                kind=revision.kind, at=revision.created_at,
                allocations=[(a["cause"], a["points"]) for a in revision.allocations],
                nonce=nonce)
            BallotRevision.objects.filter(pk=revision.pk).update(
                receipt=receipt, previous_receipt=previous, nonce=nonce)
            previous = receipt
        Ballot.objects.filter(pk=ballot.pk).update(receipt=previous or "")


class Migration(migrations.Migration):

    dependencies = [
        ("voting", "0003_bench_row"),
    ]

    operations = [
        migrations.AddField(
            model_name="ballot",
            name="receipt",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="ballotrevision",
            name="nonce",
            field=models.CharField(default="", max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="ballotrevision",
            name="previous_receipt",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="ballotrevision",
            name="receipt",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="polltally",
            name="receipts_digest",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.RunPython(chain_existing_revisions, migrations.RunPython.noop),
    ]
