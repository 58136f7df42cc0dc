"""Operator rights here follow the replica of accounts: its role and active flag, read back."""

import uuid

import pytest

from polls import selectors, services
from shared_events.core.schemas.accounts import AccountState

pytestmark = pytest.mark.django_db


def state(account_id, *, role="operator", is_active=True, deleted=False) -> AccountState:
    return AccountState(
        id=str(account_id),
        role=role,
        is_active=is_active,
        points=0,
        stake_address=None,
        joined_at="2026-01-01T00:00:00+00:00",
        deleted=deleted,
    )


def test_an_unknown_account_has_no_standing_here():
    assert selectors.account_standing(uuid.uuid4()) is None


def test_the_standing_is_the_replicas_role_and_active_flag():
    operator, retired, gone = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    services.accounts_apply_states(
        states=[
            (state(operator), 1),
            (state(retired, is_active=False), 1),
            (state(gone, deleted=True), 1),
        ]
    )
    standing = selectors.account_standing(operator)
    assert (standing.role, standing.is_active) == ("operator", True)
    assert selectors.account_standing(retired).is_active is False
    assert selectors.account_standing(gone).is_active is False  # deleted counts as inactive
