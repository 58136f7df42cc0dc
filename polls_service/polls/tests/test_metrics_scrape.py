"""polls' beat reads, when scraped, how many polls are past their close and not finalized."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from polls import metrics_scrape
from polls.models import Poll
from polls.tests.factories import open_poll

pytestmark = pytest.mark.django_db


def gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"service": "polls"})


def test_the_gauges_follow_the_polls_left_past_their_close():
    metrics_scrape.refresh()
    assert (
        gauge("polls_unfinalized_past_close"),
        gauge("polls_oldest_unfinalized_past_close_seconds"),
    ) == (0, 0)
    poll = open_poll(opens_in=-timedelta(minutes=1), lasts=timedelta(minutes=5))
    # Its closes_at passed five minutes ago and the scheduler has not closed it.
    now = timezone.now()
    Poll.objects.filter(pk=poll.pk).update(
        opens_at=now - timedelta(minutes=10), closes_at=now - timedelta(minutes=5)
    )
    metrics_scrape.refresh()
    assert gauge("polls_unfinalized_past_close") == 1
    assert 300 <= gauge("polls_oldest_unfinalized_past_close_seconds") < 360
