"""Reading causes: the list shows active ones unless asked, a lookup finds any or says NotFound."""

import uuid

import pytest

from polls import selectors, services
from polls.tests.factories import make_cause
from shared_events.kit.errors import NotFound

pytestmark = pytest.mark.django_db


def test_the_list_is_by_title_and_inactive_causes_only_on_request():
    wells, archive = make_cause("Wells"), make_cause("Archive")
    services.cause_update(cause=archive, is_active=False)
    assert list(selectors.cause_list()) == [wells]
    assert list(selectors.cause_list(include_inactive=True)) == [archive, wells]


def test_a_lookup_finds_an_inactive_cause_too():
    cause = services.cause_update(cause=make_cause("Old"), is_active=False)
    assert selectors.cause_get(cause_id=cause.pk) == cause


def test_an_unknown_cause_is_not_found():
    with pytest.raises(NotFound) as raised:
        selectors.cause_get(cause_id=uuid.uuid4())
    assert (raised.value.status_code, raised.value.message) == (
        404,
        "No Cause matches the given query.",
    )
