from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("voting", "0004_receipts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ballotrevision",
            name="receipt",
            field=models.CharField(max_length=64, unique=True),
        ),
    ]
