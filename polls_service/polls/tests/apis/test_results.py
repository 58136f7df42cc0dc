"""A poll's results over the API: the live tally as its visibility allows, the final points and
payouts once finalized, and a 403 saying why while they are hidden."""

import pytest

from polls import services
from polls.tests.factories import closed_poll, open_poll, scheduled_poll, tally_message
from shared_events.core.consumer.apply import apply_batch

pytestmark = pytest.mark.django_db
API = "/polls/api/polls/"


def ordered_causes(poll):
    return list(poll.causes.order_by("poll_entries__position"))


def test_live_results_show_the_tally_while_open(as_delegator):
    poll = open_poll(results_visibility="live")
    a, b = ordered_causes(poll)
    empty = as_delegator.get(f"{API}{poll.pk}/results/").json()
    assert (empty["total_points"], empty["message"]) == (0, "No ballots counted yet.")
    apply_batch([tally_message(poll, 1, {a: (30, 2), b: (10, 1)})])
    body = as_delegator.get(f"{API}{poll.pk}/results/").json()
    assert (body["final"], body["total_points"], body["ballots"], body["no_payouts"]) == (
        False,
        40,
        3,
        False,
    )
    assert [
        (c["cause"], c["points"], c["voters"], c["share"], c["payout_lovelace"])
        for c in body["causes"]
    ] == [(str(a.pk), 30, 2, "0.750000", None), (str(b.pk), 10, 1, "0.250000", None)]


def test_after_close_results_are_hidden_until_the_close(as_delegator, as_operator):
    poll = open_poll(results_visibility="after_close")
    a, b = ordered_causes(poll)
    apply_batch([tally_message(poll, 1, {a: 5, b: 5})])
    for client in (as_delegator, as_operator):
        hidden = client.get(f"{API}{poll.pk}/results/")
        assert hidden.status_code == 403
        assert "shown after it closes" in hidden.json()["detail"]
    services.poll_close(poll=poll)
    # Closing: ballots are still taken until closes_at, so still hidden.
    assert as_delegator.get(f"{API}{poll.pk}/results/").status_code == 403
    poll = closed_poll(results_visibility="after_close")
    a, b = ordered_causes(poll)
    apply_batch([tally_message(poll, 1, {a: 5, b: 5})])
    shown = as_delegator.get(f"{API}{poll.pk}/results/")
    assert shown.status_code == 200
    assert shown.json()["total_points"] == 10 and not shown.json()["final"]
    assert "final results and payouts follow" in shown.json()["message"]


def test_no_results_before_opening_or_after_cancelling(as_delegator):
    scheduled = scheduled_poll()
    response = as_delegator.get(f"{API}{scheduled.pk}/results/")
    assert response.status_code == 403 and "not opened yet" in response.json()["detail"]
    cancelled = services.poll_cancel(poll=open_poll())
    response = as_delegator.get(f"{API}{cancelled.pk}/results/")
    assert response.status_code == 403 and "cancelled" in response.json()["detail"]


def test_final_results_show_points_shares_and_payouts(as_delegator):
    poll = closed_poll(fund_lovelace=10, causes=3, results_visibility="after_close")
    a, b, c = ordered_causes(poll)
    apply_batch(
        [
            tally_message(
                poll,
                9,
                {a: (1, 1), b: (1, 1), c: (1, 1)},
                final=True,
                digest="f" * 64,
                receipts="e" * 64,
            )
        ]
    )
    body = as_delegator.get(f"{API}{poll.pk}/results/").json()
    assert (
        body["status"],
        body["final"],
        body["total_points"],
        body["ballots"],
        body["ballots_digest"],
        body["receipts_digest"],
        body["no_payouts"],
    ) == ("finalized", True, 3, 3, "f" * 64, "e" * 64, False)
    assert body["finalized_at"] is not None
    payouts = {
        c["cause"]: (c["payout_lovelace"], c["payout_ada"], c["share"]) for c in body["causes"]
    }
    # 10 lovelace among three equal causes: 4, 3, 3; the extra one to the lowest id string.
    lowest = min((a, b, c), key=lambda x: str(x.pk))
    assert payouts[str(lowest.pk)] == (4, "0.000004", "0.333333")
    assert sum(p[0] for p in payouts.values()) == 10


def test_a_final_tally_from_before_receipts_finalizes_without_a_receipts_digest(as_delegator):
    """An older voting_service publishes no receipts digest: the poll still finalizes."""
    poll = closed_poll(causes=2)
    a, b = ordered_causes(poll)
    apply_batch([tally_message(poll, 3, {a: 2, b: 1}, final=True)])
    body = as_delegator.get(f"{API}{poll.pk}/results/").json()
    assert (body["status"], body["receipts_digest"]) == ("finalized", None)


def test_final_results_say_when_nobody_voted(as_delegator):
    poll = closed_poll()
    apply_batch([tally_message(poll, 1, {}, final=True, ballots=0)])
    body = as_delegator.get(f"{API}{poll.pk}/results/").json()
    assert body["no_payouts"] is True and body["final"] is True
    assert body["message"] == "Nobody allocated points in this poll, so there are no payouts."
    assert [c["payout_lovelace"] for c in body["causes"]] == [0, 0]
