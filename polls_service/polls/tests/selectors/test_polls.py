"""Reading polls: drafts only for operators, a lookup of one says NotFound, never Http404."""

import uuid
from datetime import timedelta

import pytest

from polls import selectors
from polls.tests.factories import (
    closed_poll,
    finalized_poll,
    make_poll,
    open_poll,
    scheduled_poll,
)
from shared_events.kit.errors import NotFound

pytestmark = pytest.mark.django_db


def test_the_list_hides_drafts_unless_asked_and_filters_by_status():
    draft, scheduled, running = make_poll(), scheduled_poll(), open_poll()
    assert set(selectors.poll_list(include_drafts=False)) == {scheduled, running}
    assert set(selectors.poll_list(include_drafts=True)) == {draft, scheduled, running}
    assert list(selectors.poll_list(include_drafts=True, status="open")) == [running]


def test_a_lookup_brings_the_causes_in_display_order():
    poll = make_poll(causes=3)
    found = selectors.poll_get(poll_id=poll.pk, include_drafts=True)
    assert [entry.cause_id for entry in found.poll_causes.all()] == poll.cause_ids()


@pytest.mark.parametrize("include_drafts", [True, False])
def test_an_unknown_poll_is_not_found(include_drafts):
    with pytest.raises(NotFound) as raised:
        selectors.poll_get(poll_id=uuid.uuid4(), include_drafts=include_drafts)
    assert (raised.value.status_code, raised.value.message) == (
        404,
        "No Poll matches the given query.",
    )


def test_a_draft_is_not_found_by_those_who_may_not_see_drafts():
    draft = make_poll()
    with pytest.raises(NotFound):
        selectors.poll_get(poll_id=draft.pk, include_drafts=False)
    assert selectors.poll_get(poll_id=draft.pk, include_drafts=True) == draft


def test_polls_past_close_and_not_finalized_are_counted_from_the_oldest_closes_at():
    closed = closed_poll()  # waits for voting's final tally
    # Still open after its closes_at (in `now`s to come): the scheduler has not run since.
    late = open_poll(opens_in=-timedelta(minutes=1), lasts=timedelta(minutes=5))
    finalized_poll([1, 2])  # done: not counted, whenever it closed
    make_poll(opens_in=-timedelta(days=30))  # a draft is no one's worry
    assert selectors.polls_unfinalized_past_close(now=late.closes_at - timedelta(seconds=1)) == (
        0,
        0.0,
    )
    count, oldest = selectors.polls_unfinalized_past_close(
        now=late.closes_at + timedelta(minutes=2)
    )
    assert (count, oldest) == (1, 120.0)
    after_both = closed.closes_at + timedelta(seconds=30)
    count, oldest = selectors.polls_unfinalized_past_close(now=after_both)
    assert count == 2 and oldest == (after_both - late.closes_at).total_seconds()
