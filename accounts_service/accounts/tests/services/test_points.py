import pytest
from django.core.exceptions import ValidationError

from accounts.services import points_adjust

from ..conftest import last_event

pytestmark = pytest.mark.django_db


def test_points_adjustments_are_ledgered_and_never_go_negative(delegator, operator):
    start = delegator.points
    entry = points_adjust(account=delegator, delta=25, reason="bonus", by=operator)
    assert (entry.balance_after, entry.created_by) == (start + 25, operator)
    delegator.refresh_from_db()
    assert delegator.points == start + 25
    assert last_event(delegator)["data"]["points"] == start + 25
    with pytest.raises(ValidationError, match="cannot go below 0"):
        points_adjust(account=delegator, delta=-(start + 26), reason="too much", by=operator)
    with pytest.raises(ValidationError, match="Say why"):
        points_adjust(account=delegator, delta=1, reason=" ", by=operator)
    delegator.refresh_from_db()
    assert delegator.points == start + 25
