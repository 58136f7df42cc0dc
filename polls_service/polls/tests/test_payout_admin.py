"""Payouts in the admin: recording a transaction, confirming it by hand in the file mode, a
settled record read-only, the poll's page showing each cause's transaction and state."""

import pytest
from django.contrib.auth import get_user_model

from polls import services
from polls.models import Cause, Payout, PollStatus
from polls.tests.chain.remotes import payment_address, tx_hash
from polls.tests.factories import finalized_poll, make_cause

pytestmark = pytest.mark.django_db
PAYOUTS = "/polls/admin/polls/payout/"


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("op", "op@example.org", "unused")
    client.force_login(user)
    return client


def test_the_cause_form_checks_the_payout_address(admin_client):
    cause = make_cause("Wells")
    url = f"/polls/admin/polls/cause/{cause.pk}/change/"
    data = {"title": "Wells", "is_active": "on", "payout_address": "addr1nonsense"}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "not a bech32 Shelley address" in response.content.decode()
    data["payout_address"] = payment_address("wells")
    assert admin_client.post(url, data).status_code == 302
    assert Cause.objects.get(pk=cause.pk).payout_address == payment_address("wells")


def test_record_and_confirm_by_hand_in_the_file_mode(admin_client, settings):
    settings.CHAIN_SOURCE = "file"
    poll = finalized_poll([2, 1], fund_lovelace=3_000_000)
    page = admin_client.get(f"/polls/admin/polls/poll/{poll.pk}/change/").content.decode()
    assert f"{PAYOUTS}add/?poll={poll.pk}" in page

    response = admin_client.post(
        f"{PAYOUTS}add/?poll={poll.pk}", {"poll": poll.pk, "tx_hash": "xyz"}
    )
    assert response.status_code == 200
    assert "a transaction id is 64 hexadecimal digits" in response.content.decode()
    response = admin_client.post(f"{PAYOUTS}add/", {"poll": poll.pk, "tx_hash": tx_hash("admin")})
    assert response.status_code == 302, response.content.decode()[:2000]
    payout = Payout.objects.get(tx_hash=tx_hash("admin"))
    assert payout.lines.count() == 2

    change = f"{PAYOUTS}{payout.pk}/change/"
    response = admin_client.post(change, {"note": "", "confirm_by_hand": "on"})
    assert response.status_code == 200
    assert "say how you checked the payment" in response.content.decode()
    response = admin_client.post(change, {"note": "seen on my node", "confirm_by_hand": "on"})
    assert response.status_code == 302
    payout.refresh_from_db()
    assert (payout.status, payout.verified, payout.note) == (
        "confirmed_by_hand",
        False,
        "seen on my node",
    )
    poll.refresh_from_db()
    assert poll.status == PollStatus.PAID

    # Settled: shown, not changeable, not deletable.
    page = admin_client.get(change).content.decode()
    assert "seen on my node" in page and 'name="note"' not in page
    admin_client.post(change, {"note": "rewritten", "confirm_by_hand": "on"})
    assert Payout.objects.get(pk=payout.pk).note == "seen on my node"
    assert admin_client.post(f"{PAYOUTS}{payout.pk}/delete/", {"post": "yes"}).status_code == 403
    page = admin_client.get(f"/polls/admin/polls/poll/{poll.pk}/change/").content.decode()
    assert f"https://cardanoscan.io/transaction/{tx_hash('admin')}" in page
    assert "confirmed_by_hand" in page
    assert "Paid: every cause&#x27;s payout is confirmed." in page


def test_a_transaction_recorded_twice_is_shown_not_a_500(admin_client, settings):
    poll = finalized_poll([1, 1])
    services.payout_record(poll=poll, tx_hash=tx_hash("dup"))
    response = admin_client.post(f"{PAYOUTS}add/", {"poll": poll.pk, "tx_hash": tx_hash("dup")})
    assert response.status_code == 302  # back to the form, with the reason
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("is already recorded for poll" in m for m in messages)
