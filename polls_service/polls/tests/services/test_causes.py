"""Causes are deactivated, never deleted; one on offer in a poll voters can see stays active."""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from polls import services
from polls.tests.factories import closed_poll, make_poll, open_poll, scheduled_poll

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "make, hint",
    [
        (scheduled_poll, "remove it from that poll first"),
        (open_poll, "deactivate it after the poll closes"),
    ],
)
def test_a_cause_on_offer_in_a_scheduled_or_open_poll_stays_active(make, hint):
    poll = make()
    cause = poll.causes.first()
    with pytest.raises(ValidationError) as excinfo:
        services.cause_update(cause=cause, is_active=False)
    [message] = excinfo.value.message_dict["is_active"]
    assert poll.title in message and hint in message
    cause.refresh_from_db()
    assert cause.is_active
    services.cause_update(cause=cause, title="Renamed")  # other changes are fine


@pytest.mark.parametrize("make", [make_poll, closed_poll])
def test_a_cause_in_a_draft_or_closed_poll_can_be_deactivated(make):
    cause = make().causes.first()
    assert services.cause_update(cause=cause, is_active=False).is_active is False


def test_a_cause_in_a_poll_cannot_be_deleted():
    cause = make_poll().causes.first()
    with pytest.raises(ProtectedError):
        cause.delete()
