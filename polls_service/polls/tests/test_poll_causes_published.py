"""A poll's causes are part of its published state: no way of changing them skips the event."""

import pytest
from django.db import NotSupportedError, connection, transaction

from polls.models import Poll, PollCause
from polls.tests.conftest import assert_poll_events_carry_current_causes
from polls.tests.factories import last_event, make_cause, make_poll, poll_events

pytestmark = pytest.mark.django_db


def published_causes(poll) -> list[str]:
    return last_event(poll)["data"]["causes"]


def test_saving_a_row_directly_republishes_the_poll():
    poll = make_poll(causes=2)
    extra = make_cause()
    version = Poll.objects.get(pk=poll.pk).version
    PollCause(poll=poll, cause=extra, position=9).save()
    assert published_causes(poll)[-1] == str(extra.pk)
    assert last_event(poll)["version"] == version + 1


def test_deleting_rows_directly_republishes_the_poll():
    poll = make_poll(causes=3)
    first = poll.cause_ids()[0]
    PollCause.objects.filter(poll=poll, cause_id=first).delete()
    assert str(first) not in published_causes(poll)
    poll.causes.clear()
    assert published_causes(poll) == []


def test_moving_a_row_directly_republishes_the_poll():
    poll = make_poll(causes=2)
    entry = PollCause.objects.get(poll=poll, position=0)
    entry.position = 5
    entry.save()
    assert published_causes(poll) == [str(c) for c in poll.cause_ids()]
    assert published_causes(poll)[-1] == str(entry.cause_id)


@pytest.mark.parametrize(
    "write",
    [
        lambda poll, cause: PollCause.objects.bulk_create(
            [PollCause(poll=poll, cause=cause, position=7)]
        ),
        lambda poll, cause: PollCause.objects.filter(poll=poll).update(position=3),
        lambda poll, cause: PollCause.objects.bulk_update(
            list(PollCause.objects.filter(poll=poll)), ["position"]
        ),
        lambda poll, cause: poll.causes.add(cause, through_defaults={"position": 7}),
    ],
)
def test_writes_that_send_no_signals_are_refused(write):
    poll = make_poll(causes=2)
    count = len(poll_events(poll))
    cause = make_cause()
    with pytest.raises(NotSupportedError, match="poll_update"), transaction.atomic():
        write(poll, cause)
    assert len(poll_events(poll)) == count and len(poll.cause_ids()) == 2


@pytest.mark.django_db(transaction=True)
def test_a_row_outside_a_transaction_is_refused_before_it_is_written():
    poll = make_poll(causes=2)
    with pytest.raises(RuntimeError, match="transaction"):
        PollCause(poll=poll, cause=make_cause(), position=5).save()
    assert len(poll.cause_ids()) == 2


def test_raw_sql_around_the_guards_is_caught_by_the_test_check():
    poll = make_poll(causes=2)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {PollCause._meta.db_table} WHERE poll_id = %s",
            [poll.pk.hex if connection.vendor == "sqlite" else poll.pk],
        )
    with pytest.raises(AssertionError, match="newest event is not their state"):
        assert_poll_events_carry_current_causes()
    with transaction.atomic():
        poll.republish()  # put right, so this test itself ends clean


def test_deleting_a_poll_publishes_one_tombstone_after_its_last_version():
    poll = make_poll(causes=2)
    version = Poll.objects.get(pk=poll.pk).version
    Poll.objects.get(pk=poll.pk).delete()
    tail = poll_events(poll)[-1]
    assert (tail["type"], tail["version"], tail["data"]["deleted"]) == (
        "polls.poll.deleted",
        version + 1,
        True,
    )
    versions = [e["version"] for e in poll_events(poll)]
    assert len(versions) == len(set(versions))
