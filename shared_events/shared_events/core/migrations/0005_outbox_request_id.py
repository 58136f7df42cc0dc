from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("shared_events", "0004_outbox_longer_aggregate_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxevent",
            name="request_id",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
    ]
