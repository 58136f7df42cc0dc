import uuid

import pytest
from django.utils import timezone

from accounts.models import Account
from accounts.selectors import account_get, account_list, accrual_last_epoch
from accounts.services import account_register_with_wallet, account_set_active
from shared_events.kit.errors import NotFound

pytestmark = pytest.mark.django_db
STAKE = "stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw"


def test_an_account_is_found_by_its_id_and_an_unknown_id_is_not_found(delegator):
    assert account_get(account_id=delegator.pk) == delegator
    assert account_get(account_id=str(delegator.pk)) == delegator
    with pytest.raises(NotFound) as missing:
        account_get(account_id=uuid.uuid4())
    assert missing.value.status_code == 404
    assert missing.value.message == "No Account matches the given query."


def test_the_list_filters_by_role_activity_and_search_oldest_first(delegator, operator):
    staked = account_register_with_wallet(stake_address=STAKE, verified_at=timezone.now())
    account_set_active(account=staked, is_active=False)
    assert list(account_list()) == [delegator, operator, staked]
    assert list(account_list(role="operator")) == [operator]
    assert list(account_list(is_active=False)) == [staked]
    assert list(account_list(is_active=True, role="delegator")) == [delegator]
    assert list(account_list(search="DEE@")) == [delegator]
    assert list(account_list(search=STAKE[-12:])) == [staked]


def test_the_accrual_epoch_is_the_one_every_active_delegator_is_credited_through(
    delegator, operator
):
    assert accrual_last_epoch() == delegator.accrued_through_epoch  # set at registration
    behind = account_register_with_wallet(stake_address=STAKE, verified_at=timezone.now())
    Account.objects.filter(pk=delegator.pk).update(accrued_through_epoch=512)
    Account.objects.filter(pk=behind.pk).update(accrued_through_epoch=509)
    Account.objects.filter(pk=operator.pk).update(accrued_through_epoch=1)  # earns nothing
    assert accrual_last_epoch() == 509
    account_set_active(account=Account.objects.get(pk=behind.pk), is_active=False)
    assert accrual_last_epoch() == 512
