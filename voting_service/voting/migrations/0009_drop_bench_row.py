# The benchmark's ceiling endpoint and its rows left voting for the bench's own app
# (tests/bench/benchapp), which only the bench's settings install.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("voting", "0008_closing"),
    ]

    operations = [
        migrations.DeleteModel(
            name="BenchRow",
        ),
    ]
