"""Which mode runs (shared_events.kit.chain_mode) is said once when the web server starts and
in the accounts admin: the open mode (`CHAIN_SOURCE=none`, or `OPEN_ELIGIBILITY=true`) lets one
person with many accounts earn and vote many times."""

import io
import json

import pytest
from django.core.management import call_command

from accounts.chain.sources import StakeRow
from accounts.services import epoch_stake_import
from shared_events.kit.chain_mode_checks import ChainModeChecks

from .chain.remotes import POOL, stake_addresses
from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_browser(client, operator):
    assert client.login(email=operator.email, password=PASSWORD)
    return client


class TestChainMode(ChainModeChecks):
    service = "accounts"
    chain_settings = {"POOL_ID": POOL}

    @pytest.fixture
    def operator_browser(self, operator_browser):
        """Accounts' operators sign in with their email (the module's fixture)."""
        return operator_browser


def test_the_admin_index_says_the_chain_sources_state(operator_browser, settings):
    settings.CHAIN_SOURCE, settings.OPEN_ELIGIBILITY, settings.POOL_ID = "koios", False, POOL
    page = operator_browser.get("/accounts/admin/").content.decode()
    assert '<li class="info">Chain source: koios, nothing stored yet' in page


def test_chain_status_with_open_eligibility(settings):
    settings.CHAIN_SOURCE, settings.OPEN_ELIGIBILITY = "koios", True
    call_command("chain_status", "--json", stdout=(out := io.StringIO()))
    status = json.loads(out.getvalue())
    assert status["open_mode"] is True
    assert status["summary"] == (
        "chain source: koios, nothing stored yet; open mode "
        "(OPEN_ELIGIBILITY=true): every active delegator earns points "
        "and may vote"
    )


def test_the_stake_history_pages_say_what_was_sent(operator_browser, settings):
    settings.CHAIN_SOURCE, settings.POOL_ID, settings.LOYALTY_BACKFILL_EPOCHS = "file", POOL, 3
    address = stake_addresses(1)[0]
    for epoch in (512, 510):
        epoch_stake_import(epoch=epoch, pool_id=POOL, rows=[StakeRow(address, 1)], source="file")
    page = operator_browser.get("/accounts/admin/accounts/epochstakeimport/").content.decode()
    assert (
        "No epoch sent to the other services yet; epoch 512 waits for epoch 511 of its "
        "loyalty window (LOYALTY_BACKFILL_EPOCHS=3) to be stored"
    ) in page
    assert "not yet: its loyalty window is not stored whole" in page
    epoch_stake_import(epoch=511, pool_id=POOL, rows=[], source="file")
    page = operator_browser.get("/accounts/admin/accounts/epochstakeimport/").content.decode()
    assert "Sent to the other services through epoch 512" in page
    assert "epoch 512 in 1 part at" in page
