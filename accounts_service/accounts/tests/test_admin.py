"""Operators work in the admin; every change they make goes through the services."""

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Account, LedgerEntry

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_browser(client, operator):
    assert client.login(email=operator.email, password=PASSWORD)
    return client


def test_only_operators_reach_the_admin(client, delegator, operator):
    assert client.get("/accounts/admin/").status_code == 302  # to the login page
    client.login(email=delegator.email, password=PASSWORD)
    assert client.get("/accounts/admin/").status_code == 302
    client.login(email=operator.email, password=PASSWORD)
    assert client.get("/accounts/admin/").status_code == 200


def test_the_admin_sign_in_form_accepts_an_operator(client, operator):
    response = client.post(
        "/accounts/admin/login/?next=/accounts/admin/",
        {"username": operator.email, "password": PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/admin/"


def test_operators_see_and_search_accounts(operator_browser, delegator):
    page = operator_browser.get("/accounts/admin/accounts/account/?q=dee")
    assert page.status_code == 200 and delegator.email.encode() in page.content
    detail = operator_browser.get(f"/accounts/admin/accounts/account/{delegator.pk}/change/")
    assert detail.status_code == 200


def test_an_adjustment_row_in_the_admin_becomes_a_ledger_entry(
    operator_browser, delegator, operator
):
    url = f"/accounts/admin/accounts/account/{delegator.pk}/change/"
    start = delegator.points
    existing = LedgerEntry.objects.filter(account=delegator).count()
    response = operator_browser.post(
        url,
        {
            "email": delegator.email,
            "role": "delegator",
            "stake_address": "",
            "is_active": "on",
            "ledger-TOTAL_FORMS": "1",
            "ledger-INITIAL_FORMS": "0",
            "ledger-MIN_NUM_FORMS": "0",
            "ledger-MAX_NUM_FORMS": "1000",
            "ledger-0-delta": "40",
            "ledger-0-reason": "community work",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    delegator.refresh_from_db()
    assert delegator.points == start + 40
    entry = LedgerEntry.objects.filter(account=delegator).first()
    assert (entry.delta, entry.reason, entry.created_by) == (40, "community work", operator)
    assert LedgerEntry.objects.filter(account=delegator).count() == existing + 1


def test_deactivating_in_the_admin_is_published(operator_browser, delegator):
    from shared_events.core.outbox.models import OutboxEvent

    operator_browser.post(
        "/accounts/admin/accounts/account/",
        {"action": "deactivate", "_selected_action": [delegator.pk]},
    )
    delegator.refresh_from_db()
    assert not delegator.is_active
    last = OutboxEvent.objects.filter(aggregate_id=str(delegator.pk)).order_by("seq").last()
    assert b'"is_active":false' in bytes(last.payload)


def test_createoperator_makes_an_operator_and_explains_bad_input(capsys):
    call_command("createoperator", email="Boss@Example.org", password=PASSWORD)
    boss = Account.objects.get(email="boss@example.org")
    assert boss.is_operator and boss.check_password(PASSWORD)
    with pytest.raises(CommandError, match="already exists"):
        call_command("createoperator", email="boss@example.org", password=PASSWORD)
    with pytest.raises(CommandError, match="too short"):
        call_command("createoperator", email="other@example.org", password="short")


def test_adding_an_account_in_the_admin_registers_it(operator_browser):
    response = operator_browser.post(
        "/accounts/admin/accounts/account/add/",
        {
            "email": "Added@Example.org",
            "role": "delegator",
            "stake_address": "",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    added = Account.objects.get(email="added@example.org")
    assert added.check_password(PASSWORD) and added.points == 100
    assert LedgerEntry.objects.filter(account=added, kind="initial_grant").exists()


def test_a_refused_adjustment_is_an_error_on_its_row_and_saves_nothing(operator_browser, delegator):
    url = f"/accounts/admin/accounts/account/{delegator.pk}/change/"
    response = operator_browser.post(
        url,
        {
            "email": delegator.email,
            "role": "delegator",
            "stake_address": "",
            "is_active": "on",
            "ledger-TOTAL_FORMS": "1",
            "ledger-INITIAL_FORMS": "0",
            "ledger-MIN_NUM_FORMS": "0",
            "ledger-MAX_NUM_FORMS": "1000",
            "ledger-0-delta": str(-(delegator.points + 1)),
            "ledger-0-reason": "",
        },
    )
    assert response.status_code == 200  # the form again, with its errors
    assert b"cannot go below 0" in response.content and b"Say why" in response.content
    before = delegator.points
    delegator.refresh_from_db()
    assert delegator.points == before
