import pytest

from accounts.selectors import ledger_for
from accounts.services import points_adjust

pytestmark = pytest.mark.django_db


def test_an_accounts_ledger_is_its_own_entries_newest_first(delegator, operator):
    first = points_adjust(account=delegator, delta=5, reason="first", by=operator)
    second = points_adjust(account=delegator, delta=-2, reason="second", by=operator)
    points_adjust(account=operator, delta=7, reason="someone else's", by=operator)
    entries = list(ledger_for(account=delegator))
    assert entries[:2] == [second, first]
    assert [e.kind for e in entries] == ["adjustment", "adjustment", "initial_grant"]
