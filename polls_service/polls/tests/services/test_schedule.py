"""The scheduler opens and closes polls on time, once, however many workers run it."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from polls import services, tasks
from polls.models import Poll, PollStatus
from polls.tests.factories import make_poll, open_poll, poll_events, scheduled_poll

pytestmark = pytest.mark.django_db


def statuses(poll) -> list[str]:
    return [e["data"]["status"] for e in poll_events(poll)]


def test_the_beat_runs_it_every_second_and_drops_stale_runs():
    entry = settings.CELERY_BEAT_SCHEDULE["polls-open-and-close-due"]
    assert entry == {"task": "polls.open_and_close_due", "schedule": 1.0, "options": {"expires": 5}}
    assert tasks.open_and_close_due.name == "polls.open_and_close_due"


def test_a_scheduled_poll_opens_at_opens_at_and_closes_at_closes_at():
    poll = scheduled_poll(opens_in=timedelta(minutes=10), lasts=timedelta(hours=1))
    assert services.polls_open_and_close_due() == {"opened": 0, "closed": 0}
    assert services.polls_open_and_close_due(now=poll.opens_at) == {"opened": 1, "closed": 0}
    poll.refresh_from_db()
    assert poll.status == PollStatus.OPEN
    assert services.polls_open_and_close_due(now=poll.closes_at - timedelta(seconds=1)) == {
        "opened": 0,
        "closed": 0,
    }
    assert services.polls_open_and_close_due(now=poll.closes_at) == {"opened": 0, "closed": 1}
    poll.refresh_from_db()
    assert poll.status == PollStatus.CLOSED
    assert statuses(poll)[-3:] == ["scheduled", "open", "closed"]


def test_the_task_only_calls_the_service():
    poll = scheduled_poll(opens_in=-timedelta(seconds=1))
    assert tasks.open_and_close_due() == {"opened": 1, "closed": 0}
    poll.refresh_from_db()
    assert poll.status == PollStatus.OPEN


def test_running_again_changes_nothing():
    poll = scheduled_poll(opens_in=-timedelta(seconds=1))
    services.polls_open_and_close_due()
    events = len(poll_events(poll))
    for _ in range(3):
        assert services.polls_open_and_close_due() == {"opened": 0, "closed": 0}
    assert len(poll_events(poll)) == events


def test_a_window_that_passed_while_nothing_ran_opens_and_closes_in_one_run():
    poll = scheduled_poll(opens_in=-timedelta(minutes=1), lasts=timedelta(minutes=2))
    assert services.polls_open_and_close_due(now=poll.closes_at + timedelta(hours=1)) == {
        "opened": 1,
        "closed": 1,
    }
    poll.refresh_from_db()
    assert poll.status == PollStatus.CLOSED


def test_drafts_cancelled_and_early_closed_polls_are_left_alone():
    draft = make_poll(opens_in=-timedelta(minutes=1))
    cancelled = services.poll_cancel(poll=scheduled_poll(opens_in=-timedelta(minutes=1)))
    closed_early = services.poll_close(poll=open_poll())
    later = timezone.now() + timedelta(days=30)
    assert services.polls_open_and_close_due(now=later) == {"opened": 0, "closed": 0}
    for poll, status in ((draft, "draft"), (cancelled, "cancelled"), (closed_early, "closing")):
        poll.refresh_from_db()
        assert poll.status == status


def test_many_due_polls_go_in_batches():
    polls = [scheduled_poll(opens_in=-timedelta(seconds=1)) for _ in range(7)]
    assert services.polls_open_and_close_due(batch_size=3) == {"opened": 7, "closed": 0}
    assert set(
        Poll.objects.filter(pk__in=[p.pk for p in polls]).values_list("status", flat=True)
    ) == {"open"}


def _in_threads(count: int, target) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = target()
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_open_and_close_each_poll_exactly_once():
    due_to_close = [open_poll(lasts=timedelta(hours=1)) for _ in range(12)]
    due_to_open = [scheduled_poll(opens_in=-timedelta(seconds=1)) for _ in range(12)]
    now = timezone.now() + timedelta(hours=2)

    results = _in_threads(2, lambda: services.polls_open_and_close_due(now=now, batch_size=2))

    assert sum(r["opened"] for r in results) == 12
    assert sum(r["closed"] for r in results) == 12
    for polls, status in ((due_to_open, "open"), (due_to_close, "closed")):
        for poll in polls:
            poll.refresh_from_db()
            assert poll.status == status
            seen = statuses(poll)
            assert seen.count(status) == 1, seen
            versions = [e["version"] for e in poll_events(poll)]
            assert versions == sorted(set(versions))  # each event its own, increasing version


@pytest.mark.django_db(transaction=True)
def test_a_poll_locked_by_another_worker_is_skipped_not_waited_for():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite locks the whole database, not rows: nothing to skip there")
    held, other = (scheduled_poll(opens_in=-timedelta(seconds=1)) for _ in range(2))
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                Poll.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        assert services.polls_open_and_close_due() == {"opened": 1, "closed": 0}
        other.refresh_from_db()
        held.refresh_from_db()
        assert (other.status, held.status) == ("open", "scheduled")
    finally:
        release.set()
        holder.join(timeout=30)
    assert services.polls_open_and_close_due() == {"opened": 1, "closed": 0}
    held.refresh_from_db()
    assert held.status == "open"
