"""The rules of a poll and its state machine, each a field-level ValidationError."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from polls import services
from polls.models import Poll, PollStatus
from polls.tests.factories import (
    closed_poll,
    last_event,
    make_cause,
    make_poll,
    open_poll,
    poll_events,
    scheduled_poll,
)

pytestmark = pytest.mark.django_db


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


def test_a_new_poll_is_a_draft_published_with_its_causes_in_order():
    first, second = make_cause("Wells"), make_cause("Schools")
    poll = make_poll(causes=[second, first], fund_lovelace=5_000_000)
    assert poll.status == PollStatus.DRAFT
    assert poll.cause_ids() == [second.pk, first.pk]
    event = last_event(poll)
    assert event["type"] == "polls.poll.updated" and event["version"] == poll.version
    assert event["data"] == {
        "id": str(poll.pk),
        "title": "Round 1",
        "description": "",
        "fund_lovelace": 5_000_000,
        "opens_at": poll.opens_at.isoformat(),
        "closes_at": poll.closes_at.isoformat(),
        "status": "draft",
        "results_visibility": "live",
        "causes": [str(second.pk), str(first.pk)],
        "deleted": False,
        "power_formula": "points",
        "min_stake_lovelace": 0,
        "cap_percent": None,
        "snapshot_epoch": None,
    }
    assert event["data"]["opens_at"].endswith("+00:00")


@pytest.mark.parametrize("fund", [0, -5, 1.5, "100", True, None, 45 * 10**15 + 1])
def test_the_fund_is_a_positive_whole_number_of_lovelace(fund):
    with pytest.raises(ValidationError) as excinfo:
        make_poll(fund_lovelace=fund)
    assert list(errors_of(excinfo)) == ["fund_lovelace"]
    assert not Poll.objects.exists()


@pytest.mark.parametrize("lasts", [timedelta(0), -timedelta(hours=1)])
def test_a_poll_closes_after_it_opens(lasts):
    with pytest.raises(ValidationError) as excinfo:
        make_poll(lasts=lasts)
    assert errors_of(excinfo) == {"closes_at": ["The poll must close after it opens."]}


def test_the_database_enforces_fund_and_window_too():
    poll = make_poll()
    with pytest.raises(IntegrityError), transaction.atomic():
        Poll.objects.filter(pk=poll.pk).update(fund_lovelace=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Poll.objects.filter(pk=poll.pk).update(closes_at=poll.opens_at)


def test_title_visibility_and_time_zone_are_checked():
    naive = timezone.now().replace(tzinfo=None)
    with pytest.raises(ValidationError) as excinfo:
        services.poll_create(
            title=" ",
            fund_lovelace=1,
            opens_at=naive,
            closes_at=timezone.now(),
            results_visibility="never",
        )
    assert set(errors_of(excinfo)) == {"title", "opens_at", "results_visibility"}


def test_causes_must_exist_be_active_and_appear_once():
    active, retired = make_cause(), make_cause(is_active=False)
    with pytest.raises(ValidationError) as twice:
        make_poll(causes=[active, active])
    with pytest.raises(ValidationError) as inactive:
        make_poll(causes=[active, retired])
    with pytest.raises(ValidationError) as unknown:
        make_poll(causes=[active, "9b0f4c36-0000-4000-8000-000000000000"])
    with pytest.raises(ValidationError) as garbage:
        make_poll(causes=[active, "not-an-id"])
    for excinfo in (twice, inactive, unknown, garbage):
        assert list(errors_of(excinfo)) == ["causes"]
    assert "inactive" in errors_of(inactive)["causes"][0]
    assert not Poll.objects.exists()


def test_a_draft_can_change_anything_in_one_event():
    poll = make_poll(causes=2)
    extra = make_cause()
    before = poll.version
    poll = services.poll_update(
        poll=poll,
        title="Round 2",
        fund_lovelace=7,
        results_visibility="after_close",
        causes=[extra.pk, *poll.cause_ids()],
    )
    assert poll.version == before + 1
    data = last_event(poll)["data"]
    assert (data["title"], data["fund_lovelace"], data["results_visibility"]) == (
        "Round 2",
        7,
        "after_close",
    )
    assert data["causes"][0] == str(extra.pk) and len(data["causes"]) == 3


def test_an_update_that_changes_nothing_publishes_nothing():
    poll = make_poll()
    count = len(poll_events(poll))
    services.poll_update(poll=poll, title=poll.title, causes=poll.cause_ids())
    assert len(poll_events(poll)) == count


def test_reordering_causes_republishes_the_poll():
    poll = make_poll(causes=3)
    ids = poll.cause_ids()
    services.poll_update(poll=poll, causes=list(reversed(ids)))
    assert last_event(poll)["data"]["causes"] == [str(i) for i in reversed(ids)]


def test_scheduling_needs_two_active_causes():
    poll = make_poll(causes=1)
    with pytest.raises(ValidationError) as excinfo:
        services.poll_schedule(poll=poll)
    assert errors_of(excinfo) == {
        "causes": ["A poll needs at least 2 active causes to be scheduled; it has 1."]
    }
    poll.refresh_from_db()
    assert poll.status == PollStatus.DRAFT


def test_scheduling_needs_every_cause_active():
    poll = make_poll(causes=3)
    services.cause_update(cause=poll.causes.first(), is_active=False)  # allowed: a draft
    with pytest.raises(ValidationError) as excinfo:
        services.poll_schedule(poll=poll)
    assert "Every cause on offer must be active" in errors_of(excinfo)["causes"][0]


def test_scheduling_needs_a_closing_time_in_the_future():
    poll = make_poll(opens_in=-timedelta(days=2), lasts=timedelta(days=1))
    with pytest.raises(ValidationError) as excinfo:
        services.poll_schedule(poll=poll)
    assert errors_of(excinfo) == {
        "closes_at": ["The poll must close in the future to be scheduled."]
    }


def test_a_scheduled_poll_stays_schedulable_through_its_changes():
    poll = scheduled_poll(causes=2)
    assert last_event(poll)["data"]["status"] == "scheduled"
    with pytest.raises(ValidationError) as too_few:
        services.poll_update(poll=poll, causes=poll.cause_ids()[:1])
    assert list(errors_of(too_few)) == ["causes"]
    with pytest.raises(ValidationError) as past:
        services.poll_update(
            poll=poll,
            opens_at=timezone.now() - timedelta(days=2),
            closes_at=timezone.now() - timedelta(days=1),
        )
    assert list(errors_of(past)) == ["closes_at"]
    services.poll_update(poll=poll, fund_lovelace=9, causes=[*poll.cause_ids(), make_cause()])
    assert last_event(poll)["data"]["fund_lovelace"] == 9


@pytest.mark.parametrize(
    "field, value",
    [
        ("fund_lovelace", 2),
        ("causes", []),
        ("opens_at", None),
        ("closes_at", None),
        ("results_visibility", "after_close"),
    ],
)
def test_once_open_the_offer_is_fixed(field, value):
    poll = open_poll()
    if field in ("opens_at", "closes_at"):
        value = getattr(poll, field) + timedelta(minutes=5)
    with pytest.raises(ValidationError) as excinfo:
        services.poll_update(poll=poll, **{field: value})
    assert errors_of(excinfo) == {field: ["This cannot change once the poll is open."]}


def test_once_open_the_wording_may_still_change():
    poll = open_poll()
    # Sending the unchanged fund along (as a form does) is no change to refuse.
    services.poll_update(
        poll=poll, title="Better title", description="Clearer", fund_lovelace=poll.fund_lovelace
    )
    assert last_event(poll)["data"]["title"] == "Better title"


def test_an_operator_closes_early_and_it_closes_after_the_grace(settings):
    settings.POLL_CLOSE_GRACE_SECONDS = 5
    poll = open_poll()
    before = timezone.now()
    poll = services.poll_close(poll=poll)
    # Closing, not closed: voting says when it stopped, with its final tally.
    assert poll.status == PollStatus.CLOSING
    grace = timedelta(seconds=5)
    assert before + grace <= poll.closes_at <= timezone.now() + grace
    data = last_event(poll)["data"]
    assert (data["status"], data["closes_at"]) == ("closing", poll.closes_at.isoformat())


def test_a_close_never_moves_closes_at_later(settings):
    settings.POLL_CLOSE_GRACE_SECONDS = 600
    poll = open_poll(lasts=timedelta(minutes=2))
    closes_at = poll.closes_at
    poll = services.poll_close(poll=poll)
    assert (poll.status, poll.closes_at) == (PollStatus.CLOSING, closes_at)


def test_a_closing_poll_is_not_closed_again_nor_cancelled_and_its_wording_may_change():
    poll = services.poll_close(poll=open_poll())
    for action in (services.poll_close, services.poll_cancel):
        with pytest.raises(ValidationError):
            action(poll=poll)
    poll = services.poll_update(poll=poll, title="Renamed while closing")
    assert last_event(poll)["data"]["status"] == "closing"
    with pytest.raises(ValidationError):
        services.poll_update(poll=poll, fund_lovelace=poll.fund_lovelace + 1)
    # The scheduler leaves it to voting's confirmation, whatever the time.
    assert services.polls_open_and_close_due(now=poll.closes_at + timedelta(days=30)) == {
        "opened": 0,
        "closed": 0,
    }


def test_only_an_open_poll_can_be_closed():
    for poll in (make_poll(), scheduled_poll()):
        with pytest.raises(ValidationError) as excinfo:
            services.poll_close(poll=poll)
        assert list(errors_of(excinfo)) == ["status"]


@pytest.mark.parametrize("make", [make_poll, scheduled_poll, open_poll])
def test_drafts_scheduled_and_open_polls_can_be_cancelled(make):
    poll = services.poll_cancel(poll=make())
    assert poll.status == PollStatus.CANCELLED
    assert last_event(poll)["data"]["status"] == "cancelled"


def test_a_closed_poll_cannot_be_cancelled_but_its_wording_can_change():
    poll = closed_poll()
    with pytest.raises(ValidationError) as excinfo:
        services.poll_cancel(poll=poll)
    assert list(errors_of(excinfo)) == ["status"]
    services.poll_update(poll=poll, title="Round 1 (closed)")
    with pytest.raises(ValidationError):
        services.poll_update(poll=poll, fund_lovelace=poll.fund_lovelace + 1)


def test_cancelled_is_terminal():
    poll = services.poll_cancel(poll=make_poll())
    for action in (services.poll_schedule, services.poll_close, services.poll_cancel):
        with pytest.raises(ValidationError) as excinfo:
            action(poll=poll)
        assert list(errors_of(excinfo)) == ["status"]
    with pytest.raises(ValidationError) as excinfo:
        services.poll_update(poll=poll, title="again")
    assert errors_of(excinfo) == {"title": ["A cancelled poll cannot be changed."]}


def test_scheduling_twice_is_refused():
    poll = scheduled_poll()
    with pytest.raises(ValidationError) as excinfo:
        services.poll_schedule(poll=poll)
    assert errors_of(excinfo) == {
        "status": ["Only a draft poll can be scheduled; this one is scheduled."]
    }


def test_unknown_fields_are_a_programming_error():
    with pytest.raises(TypeError):
        services.poll_update(poll=make_poll(), status="open")


def test_a_rolled_back_change_leaves_no_event():
    poll = make_poll()
    count = len(poll_events(poll))
    with pytest.raises(RuntimeError), transaction.atomic():
        services.poll_update(poll=poll, title="never", causes=poll.cause_ids()[:1])
        raise RuntimeError
    poll.refresh_from_db()
    assert poll.title == "Round 1" and len(poll.cause_ids()) == 2
    assert len(poll_events(poll)) == count
