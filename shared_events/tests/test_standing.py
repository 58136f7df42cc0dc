"""A token's role counts only until the service's replica of accounts knows the account."""

import uuid

import pytest

from shared_events.kit.identity.authentication import TokenUser
from shared_events.kit.identity.standing import Standing
from shared_events.kit.identity.tokens import TokenClaims

KNOWN: dict[uuid.UUID, Standing] = {}
ASKED: list[uuid.UUID] = []


def lookup(account_id: uuid.UUID) -> Standing | None:
    ASKED.append(account_id)
    return KNOWN.get(account_id)


@pytest.fixture(autouse=True)
def replica(settings):
    settings.ACCOUNT_STANDING = f"{__name__}.lookup"
    KNOWN.clear()
    ASKED.clear()


def user(role: str) -> TokenUser:
    return TokenUser(
        TokenClaims(
            subject=uuid.uuid4(), role=role, token_type="access", jti="j", issued_at=0, expires_at=0
        )
    )


def test_an_account_the_replica_does_not_know_keeps_its_token_role():
    caller = user("operator")
    assert caller.is_operator and caller.is_active and caller.role == "operator"


@pytest.mark.parametrize(
    "standing",
    [Standing(role="delegator", is_active=True), Standing(role="operator", is_active=False)],
    ids=["demoted", "deactivated"],
)
def test_the_replica_overrules_the_token(standing):
    caller = user("operator")
    KNOWN[caller.id] = standing
    assert not caller.is_operator and not caller.is_staff
    assert (caller.role, caller.is_active) == (standing.role, standing.is_active)


def test_the_replica_is_asked_once_and_only_when_the_role_matters():
    caller = user("delegator")
    assert caller.id and caller.is_authenticated  # what a ballot reads: no lookup
    assert ASKED == []
    assert not caller.is_operator and caller.role == "delegator"
    assert ASKED == [caller.id]


def test_without_a_replica_the_token_stands(settings):
    settings.ACCOUNT_STANDING = None
    assert user("operator").is_operator and ASKED == []
