"""A poll's results as a reader may see them, and a Refused saying why while they are hidden."""

import pytest

from polls import selectors, services
from polls.tests.factories import closed_poll, make_poll, open_poll, scheduled_poll, tally_message
from shared_events.core.consumer.apply import apply_batch
from shared_events.kit.errors import Refused

pytestmark = pytest.mark.django_db


def ordered_causes(poll):
    return list(poll.causes.order_by("poll_entries__position"))


@pytest.mark.parametrize(
    "make, reason",
    [
        (make_poll, "not opened yet"),
        (scheduled_poll, "not opened yet"),
        (lambda: services.poll_cancel(poll=open_poll()), "was cancelled"),
        (lambda: open_poll(results_visibility="after_close"), "shown after it closes"),
    ],
    ids=["draft", "scheduled", "cancelled", "open-after-close"],
)
def test_hidden_results_are_refused_with_the_reason(make, reason):
    with pytest.raises(Refused) as raised:
        selectors.poll_results(poll=make())
    assert isinstance(raised.value, selectors.ResultsHidden)
    assert raised.value.status_code == 403 and reason in raised.value.message


def test_operators_see_the_live_count_whatever_the_visibility():
    poll = open_poll(results_visibility="after_close")
    a, b = ordered_causes(poll)
    apply_batch([tally_message(poll, 1, {a: 3, b: 1})])
    results = selectors.poll_results_for_operator(poll=poll)
    assert (results.final, results.total_points) == (False, 4)
    assert [(c.cause_id, c.points, str(c.share)) for c in results.causes] == [
        (a.pk, 3, "0.750000"),
        (b.pk, 1, "0.250000"),
    ]


def test_final_results_come_from_the_stored_results_once_finalized():
    poll = closed_poll(fund_lovelace=7, results_visibility="after_close")
    a, b = ordered_causes(poll)
    assert list(selectors.poll_final_results(poll=poll)) == []
    apply_batch([tally_message(poll, 2, {a: 2, b: 1}, final=True)])
    poll.refresh_from_db()
    results = selectors.poll_results(poll=poll)
    assert results.final and results.message == "Final results and payouts."
    assert [(c.cause_id, c.payout_lovelace) for c in results.causes] == [(a.pk, 5), (b.pk, 2)]
    assert [r.cause_id for r in selectors.poll_final_results(poll=poll)] == [a.pk, b.pk]
