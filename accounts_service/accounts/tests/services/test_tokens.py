from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import RefreshToken
from accounts.services import (
    account_set_active,
    browser_sign_in,
    refresh_tokens_purge_expired,
    token_pair_issue,
    token_pair_sign_in,
    token_refresh,
    token_revoke,
)
from shared_events.kit.identity.tokens import ACCESS, REFRESH, InvalidToken, verify_token

pytestmark = pytest.mark.django_db


def live_tokens(account) -> int:
    return RefreshToken.objects.filter(account=account, revoked_at__isnull=True).count()


def test_signing_in_records_the_sign_in_and_keeps_its_refresh_token(delegator):
    assert delegator.last_login is None
    pair = token_pair_sign_in(account=delegator)
    delegator.refresh_from_db()
    assert delegator.last_login is not None
    assert verify_token(pair["access"], expected_type=ACCESS).subject == delegator.pk
    jti = verify_token(pair["refresh"], expected_type=REFRESH).jti
    assert RefreshToken.objects.get(jti=jti).account == delegator


def test_a_browser_sign_in_is_recorded_and_keeps_no_refresh_token(delegator, settings):
    token, max_age = browser_sign_in(account=delegator)
    delegator.refresh_from_db()
    assert delegator.last_login is not None
    assert max_age == settings.JWT_BROWSER_TTL_SECONDS
    claims = verify_token(token, expected_type=ACCESS)
    assert claims.subject == delegator.pk
    assert claims.expires_at - claims.issued_at == settings.JWT_BROWSER_TTL_SECONDS
    assert live_tokens(delegator) == 0


def test_a_refresh_rotates_the_token_and_a_second_use_ends_every_session(delegator):
    first = token_pair_issue(account=delegator)
    other_session = token_pair_issue(account=delegator)
    second = token_refresh(refresh=first["refresh"])
    assert live_tokens(delegator) == 2  # the rotated one and the other session's
    with pytest.raises(InvalidToken, match="revoked"):
        token_refresh(refresh=first["refresh"])
    assert live_tokens(delegator) == 0
    for pair in (second, other_session):
        with pytest.raises(InvalidToken):
            token_refresh(refresh=pair["refresh"])


def test_a_deactivated_account_gets_no_new_pair(delegator):
    pair = token_pair_issue(account=delegator)
    account_set_active(account=delegator, is_active=False)
    RefreshToken.objects.update(revoked_at=None)  # as if deactivated without ending sessions
    with pytest.raises(InvalidToken, match="disabled"):
        token_refresh(refresh=pair["refresh"])


def test_one_can_revoke_ones_own_refresh_token_only(delegator, operator):
    mine, theirs = token_pair_issue(account=delegator), token_pair_issue(account=operator)
    with pytest.raises(InvalidToken, match="another account"):
        token_revoke(refresh=theirs["refresh"], account=delegator)
    assert live_tokens(operator) == 1
    token_revoke(refresh=mine["refresh"], account=delegator)
    assert live_tokens(delegator) == 0


def test_only_expired_refresh_tokens_are_purged(delegator):
    token_pair_issue(account=delegator)
    token_pair_issue(account=delegator)
    stale = RefreshToken.objects.first()
    RefreshToken.objects.filter(pk=stale.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert refresh_tokens_purge_expired() == 1
    assert not RefreshToken.objects.filter(pk=stale.pk).exists()
    assert RefreshToken.objects.count() == 1
