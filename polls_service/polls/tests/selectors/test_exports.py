"""The final results as CSV: one row per cause of each finalized poll, none for the others."""

import csv
import io

import pytest

from polls import selectors
from polls.tests.factories import closed_poll, make_cause, open_poll, tally_message
from shared_events.core.consumer.apply import apply_batch

pytestmark = pytest.mark.django_db


def test_a_finalized_poll_has_a_row_per_cause_and_a_running_one_none():
    poll = closed_poll(title="Q3", fund_lovelace=3_000_000,
                       causes=[make_cause("Wells"), make_cause("Schools")])
    wells, schools = poll.causes.order_by("poll_entries__position")
    apply_batch([tally_message(poll, 2, {wells: (2, 2), schools: (1, 1)}, final=True)])
    poll.refresh_from_db()
    rows = list(csv.reader(io.StringIO(selectors.results_csv([poll, open_poll()]))))
    assert rows == [
        ["poll_id", "poll", "cause_id", "cause", "points", "voters", "share",
         "payout_lovelace", "payout_ada"],
        [str(poll.pk), "Q3", str(wells.pk), "Wells", "2", "2", "0.666667", "2000000",
         "2.000000"],
        [str(poll.pk), "Q3", str(schools.pk), "Schools", "1", "1", "0.333333", "1000000",
         "1.000000"],
    ]
