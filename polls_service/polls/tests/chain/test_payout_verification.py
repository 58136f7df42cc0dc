"""Payout transactions verified end to end: polls' own lookups, over real sockets, against a
local Blockfrost and a local Koios answering in their documented shapes (each test runs with
both). Paid, short, wrong address, unknown, pending then confirmed."""

import json
from datetime import timedelta

import pytest
from django.conf import settings as django_settings

from polls import selectors, services, tasks
from polls.models import Payout, PollStatus
from polls.payout_models import PayoutSettled
from polls.tests.factories import finalized_poll, poll_events
from shared_events.core.outbox.models import OutboxEvent
from shared_events.kit.chain_clients.testing import Answer
from shared_events.kit.errors import Conflict

from .remotes import payment_address, tx_hash

pytestmark = pytest.mark.django_db

CHANGE = payment_address("the pool's own change")


def results(poll):
    return list(selectors.poll_final_results(poll=poll))


def pays_all(poll, short: int = 0) -> list[tuple[str, int]]:
    """Outputs paying each cause its payout (the last one `short` lovelace less), and change."""
    rows = results(poll)
    outputs = [(r.cause.payout_address, r.payout_lovelace) for r in rows]
    address, amount = outputs[-1]
    outputs[-1] = (address, amount - short)
    return [*outputs, (CHANGE, 7_000_000)]


def payout_events(payout):
    return [
        e["data"]
        for e in (
            json.loads(bytes(r.payload))
            for r in OutboxEvent.objects.filter(aggregate_id=str(payout.pk)).order_by("seq")
        )
    ]


def test_a_transaction_paying_every_cause_confirms_and_the_poll_is_paid(chain, ledger):
    poll = finalized_poll([3, 1], fund_lovelace=4_000_000)
    ledger.add(tx_hash("paid"), pays_all(poll), depth=25)
    payout = services.payout_record(poll=poll, tx_hash=tx_hash("paid").upper())

    assert payout.tx_hash == tx_hash("paid")  # stored in lower case
    assert payout.status == "pending"
    assert services.payouts_check_pending() == {"checked": 1, "confirmed": 1}

    payout.refresh_from_db()
    assert (payout.status, payout.verified, payout.confirmations) == ("confirmed", True, 25)
    assert payout.confirmed_at is not None
    lines = list(payout.lines.order_by("position"))
    assert [(line.expected_lovelace, line.found_lovelace) for line in lines] == [
        (3_000_000, 3_000_000),
        (1_000_000, 1_000_000),
    ]
    poll.refresh_from_db()
    assert poll.status == PollStatus.PAID
    assert poll_events(poll)[-1]["data"]["status"] == "paid"
    published = payout_events(payout)[-1]
    assert published["status"] == "confirmed"
    assert published["explorer_url"] == f"https://cardanoscan.io/transaction/{payout.tx_hash}"
    assert [line["found_lovelace"] for line in published["lines"]] == [3_000_000, 1_000_000]


def test_a_cause_paid_short_is_a_mismatch_showing_expected_and_found(chain, ledger):
    poll = finalized_poll([1, 1], fund_lovelace=2_000_000)
    ledger.add(tx_hash("short"), pays_all(poll, short=250_000))
    payout = services.payout_record(poll=poll, tx_hash=tx_hash("short"))
    services.payouts_check_pending()

    payout.refresh_from_db()
    first, second = results(poll)
    assert payout.status == "mismatch"
    assert payout.confirmed_at is None
    assert (
        f"“{second.cause.title}”: expected 1.000000 ada at {second.cause.payout_address}, "
        "found 0.750000 ada (short by 0.250000)"
    ) in payout.finding
    poll.refresh_from_db()
    assert poll.status == PollStatus.FINALIZED  # not every cause is paid
    # The cause the transaction paid in full counts as paid; the other one does not.
    per_cause = selectors.cause_payouts(poll=poll)
    assert (per_cause[first.cause_id].status, per_cause[first.cause_id].paid) == (
        "confirmed",
        True,
    )
    assert (per_cause[second.cause_id].status, per_cause[second.cause_id].paid) == (
        "mismatch",
        False,
    )

    # A second transaction tops the short cause up to its whole payout: now the poll is paid.
    ledger.add(tx_hash("top-up"), [(second.cause.payout_address, second.payout_lovelace)])
    services.payout_record(poll=poll, tx_hash=tx_hash("top-up"), causes=[second.cause_id])
    services.payouts_check_pending()
    poll.refresh_from_db()
    assert poll.status == PollStatus.PAID


def test_a_payment_to_another_address_is_a_mismatch_naming_where_it_went(chain, ledger):
    poll = finalized_poll([1, 1], fund_lovelace=2_000_000)
    first, second = results(poll)
    elsewhere = payment_address("someone else")
    ledger.add(
        tx_hash("wrong"),
        [(first.cause.payout_address, first.payout_lovelace), (elsewhere, second.payout_lovelace)],
    )
    payout = services.payout_record(poll=poll, tx_hash=tx_hash("wrong"))
    services.payouts_check_pending()

    payout.refresh_from_db()
    assert payout.status == "mismatch"
    assert f"“{second.cause.title}”: expected 1.000000 ada at {second.cause.payout_address}" in (
        payout.finding
    )
    assert "found nothing paid to that address" in payout.finding
    assert f"{elsewhere} 1.000000 ada" in payout.finding
    assert payout.lines.get(cause=second.cause).found_lovelace == 0


def test_an_unknown_transaction_stays_pending_then_is_shown_as_never_seen(chain, ledger, settings):
    poll = finalized_poll([1, 1])
    payout = services.payout_record(poll=poll, tx_hash=tx_hash("never sent"))
    services.payouts_check_pending()
    payout.refresh_from_db()
    assert payout.status == "pending"
    assert payout.finding.startswith("not on chain yet")

    settings.PAYOUT_GIVE_UP_SECONDS = 3600
    later = payout.recorded_at + timedelta(hours=1)
    services.payouts_check_pending(now=later)
    payout.refresh_from_db()
    assert payout.status == "not_found"
    assert "never seen on chain in the 1 h after it was recorded" in payout.finding
    assert payout_events(payout)[-1]["status"] == "not_found"


def test_a_transaction_seen_only_after_it_was_given_up_can_be_recorded_again(
    chain, ledger, settings
):
    """A source that lagged a whole give-up window (a self-hosted instance still syncing) marks
    a real payment not_found for good; once the chain shows it, recording the same transaction
    again is how it pays its causes (the first record stays as it was)."""
    settings.PAYOUT_GIVE_UP_SECONDS = 3600
    poll = finalized_poll([3, 1], fund_lovelace=4_000_000)
    first = services.payout_record(poll=poll, tx_hash=tx_hash("late"))
    services.payouts_check_pending(now=first.recorded_at + timedelta(hours=1))
    first.refresh_from_db()
    assert first.status == "not_found"

    ledger.add(tx_hash("late"), pays_all(poll), depth=25)
    again = services.payout_record(poll=poll, tx_hash=tx_hash("late"))
    assert again.pk != first.pk and again.status == "pending"
    services.payouts_check_pending()
    again.refresh_from_db()
    first.refresh_from_db()
    assert (again.status, first.status) == ("confirmed", "not_found")
    poll.refresh_from_db()
    assert poll.status == PollStatus.PAID


def test_a_transaction_still_pending_or_settled_is_not_recorded_twice(chain, ledger):
    poll = finalized_poll([3, 1], fund_lovelace=4_000_000)
    services.payout_record(poll=poll, tx_hash=tx_hash("once"))
    with pytest.raises(Conflict, match="already recorded"):
        services.payout_record(poll=poll, tx_hash=tx_hash("once"))


def test_a_shallow_transaction_is_pending_until_deep_enough(chain, ledger, settings):
    settings.PAYOUT_CONFIRMATIONS = 10
    poll = finalized_poll([2, 1], fund_lovelace=3_000_000)
    ledger.add(tx_hash("fresh"), pays_all(poll), depth=3)
    payout = services.payout_record(poll=poll, tx_hash=tx_hash("fresh"))

    services.payouts_check_pending()
    payout.refresh_from_db()
    assert (payout.status, payout.confirmations) == ("pending", 3)
    assert payout.finding == "3 of 10 confirmations"
    assert [line.found_lovelace for line in payout.lines.order_by("position")] == [
        2_000_000,
        1_000_000,
    ]
    version = payout.version
    services.payouts_check_pending()  # nothing new on chain: nothing new published
    payout.refresh_from_db()
    assert payout.version == version

    ledger.tip_height += 7
    # The beat's task, run as the worker would, does the same check.
    assert django_settings.CELERY_BEAT_SCHEDULE["polls-check-payouts"]["task"] == (
        "polls.check_payouts"
    )
    assert tasks.check_payouts() == {"checked": 1, "confirmed": 1}
    payout.refresh_from_db()
    assert (payout.status, payout.confirmations) == ("confirmed", 10)
    poll.refresh_from_db()
    assert poll.status == PollStatus.PAID


def test_a_confirmed_payout_never_changes(chain, ledger):
    poll = finalized_poll([1, 1], fund_lovelace=2_000_000)
    ledger.add(tx_hash("final"), pays_all(poll))
    payout = services.payout_record(poll=poll, tx_hash=tx_hash("final"))
    services.payouts_check_pending()
    payout.refresh_from_db()
    assert payout.status == "confirmed"
    version = payout.version

    # The chain "forgets" it: a settled record is not checked again.
    del ledger.txs[tx_hash("final")]
    assert services.payouts_check_pending() == {"checked": 0}
    assert services.payout_apply_check(payout_id=payout.pk, seen=None).status == "confirmed"
    payout.note = "rewritten"
    with pytest.raises(PayoutSettled):
        payout.save()
    with pytest.raises(PayoutSettled):
        payout.delete()
    with pytest.raises(PayoutSettled):
        Payout.objects.filter(pk=payout.pk).update(status="pending")
    with pytest.raises(PayoutSettled):
        Payout.objects.bulk_update([payout], ["note"])
    line = payout.lines.first()
    line.found_lovelace = 0
    with pytest.raises(PayoutSettled):
        line.save()
    fresh = Payout.objects.get(pk=payout.pk)
    assert (fresh.status, fresh.note, fresh.version) == ("confirmed", "", version)


def test_a_source_that_does_not_answer_leaves_it_pending_and_says_so(chain, ledger, http_server):
    poll = finalized_poll([1, 1])
    ledger.add(tx_hash("later"), pays_all(poll))
    payout = services.payout_record(poll=poll, tx_hash=tx_hash("later"))
    version = Payout.objects.get(pk=payout.pk).version
    http_server.faults = [Answer(503, b"upstream down")] * 2  # both attempts of the first call

    services.payouts_check_pending()
    payout.refresh_from_db()
    assert payout.status == "pending"
    assert payout.finding.startswith("not checked: the chain source did not answer")
    assert "server error 503" in payout.finding
    assert payout.version == version  # nothing others see changed
    services.payouts_check_pending()
    payout.refresh_from_db()
    assert payout.status == "confirmed"
