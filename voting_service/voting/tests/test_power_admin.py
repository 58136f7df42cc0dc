"""The voting admin says which mode runs and what a poll's power is, and downloads its table."""

import csv
import io

import pytest
from django.contrib.auth.models import User

from voting import services

from .factories import make_poll, stake_part

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client):
    client.force_login(User.objects.create_superuser("op", "op@example.org", "pw"))
    return client


def test_a_polls_page_says_the_mode_and_its_power(operator_client, settings):
    settings.CHAIN_SOURCE = "file"
    services.epoch_stake_apply_part(
        state=stake_part(500, [["stake1_a", 2_000_000, 1], ["stake1_b", 9_000_000, 2]]), version=1
    )
    poll = make_poll(power_formula="stake", snapshot_epoch=500)
    page = operator_client.get(f"/voting/admin/voting/pollreplica/{poll.pk}/change/")
    assert "chain mode (CHAIN_SOURCE=file)" in page.content.decode()
    assert "stake, snapshot epoch 500: 2 eligible, total power 11" in page.content.decode()
    download = operator_client.post(
        "/voting/admin/voting/pollreplica/",
        {"action": "download_power_table", "_selected_action": [str(poll.pk)]},
    )
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [(r["stake_address"], r["power"]) for r in rows] == [
        ("stake1_a", "2"),
        ("stake1_b", "9"),
    ]


def test_the_open_mode_says_so(operator_client):
    poll = make_poll()
    page = operator_client.get(f"/voting/admin/voting/pollreplica/{poll.pk}/change/")
    assert "open mode (CHAIN_SOURCE=none)" in page.content.decode()
