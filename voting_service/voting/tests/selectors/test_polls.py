"""The polls the delegators' pages list: open now (by status and clock), past rounds, and a
poll's causes in the poll's order."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shared_events.core.schemas.polls import CauseState
from voting import selectors, services

from ..factories import make_poll, set_poll

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("status", "opens_in", "closes_in", "takes"),
    [
        ("open", timedelta(hours=-1), timedelta(hours=1), True),
        ("closing", timedelta(hours=-1), timedelta(minutes=1), True),
        ("open", timedelta(hours=-2), timedelta(seconds=-1), False),  # the clock decides too
        ("scheduled", timedelta(hours=1), timedelta(hours=2), False),
        ("closed", timedelta(hours=-2), timedelta(hours=-1), False),
    ],
)
def test_a_poll_takes_ballots_as_the_open_list_says(status, opens_in, closes_in, takes):
    poll = make_poll(causes=1, status=status, opens_in=opens_in, closes_in=closes_in)
    assert selectors.takes_ballots_now(poll=poll) is takes
    assert selectors.polls_open().filter(pk=poll.pk).exists() is takes


def test_open_polls_closing_soonest_first_and_past_rounds_latest_first():
    later = make_poll(causes=1, closes_in=timedelta(hours=5))
    sooner = make_poll(causes=1, closes_in=timedelta(hours=1))
    old = make_poll(causes=1, status="closed", closes_in=timedelta(days=-2))
    recent = make_poll(causes=1, status="finalized", closes_in=timedelta(days=-1))
    paid = make_poll(causes=1, status="paid", closes_in=timedelta(hours=-1))
    deleted = set_poll(make_poll(causes=1, status="closed"), deleted=True)
    make_poll(causes=1, status="cancelled", closes_in=timedelta(hours=-1))
    assert list(selectors.polls_open()) == [sooner, later]
    assert list(selectors.polls_past()) == [paid, recent, old]
    assert deleted not in selectors.polls_past()


def test_a_polls_causes_in_its_order_with_one_not_known_here_yet():
    poll = make_poll(causes=[str(uuid.uuid4()) for _ in range(2)])
    known, unknown = poll.causes
    services.cause_apply_state(
        state=CauseState(
            id=known, title="Wells", description="", url="", image_url="", is_active=True
        ),
        version=1,
    )
    causes = selectors.poll_causes(poll=poll)
    assert [(str(c.id), c.title, c.known) for c in causes] == [
        (known, "Wells", True),
        (unknown, unknown, False),
    ]
