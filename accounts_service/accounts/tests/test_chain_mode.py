"""Which mode runs (shared_events.kit.chain_mode) is said once when the web server starts and
in the accounts admin: the open mode (`CHAIN_SOURCE=none`, or `OPEN_ELIGIBILITY=true`) lets one
person with many accounts earn and vote many times."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

import config
from accounts.chain.sources import StakeRow
from accounts.services import epoch_stake_import

from .chain.remotes import POOL, stake_addresses
from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
SERVICE_DIR = Path(config.__file__).resolve().parents[1]


@pytest.fixture
def operator_browser(client, operator):
    assert client.login(email=operator.email, password=PASSWORD)
    return client


def web_start_log(tmp_path: Path, **settings: str) -> list[str]:
    """The log lines that say a mode when the web's WSGI application loads, in a process of
    its own as gunicorn's worker loads it."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "VAR_DIR": str(tmp_path)}
    env.update(settings)
    done = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=SERVICE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [line for line in done.stderr.splitlines() if " mode (" in line]


@pytest.mark.parametrize(
    "settings_, said",
    [
        ({"CHAIN_SOURCE": "none"}, "WARNING accounts: open mode (CHAIN_SOURCE=none)"),
        (
            {"CHAIN_SOURCE": "koios", "POOL_ID": POOL, "OPEN_ELIGIBILITY": "true"},
            "WARNING accounts: open mode (OPEN_ELIGIBILITY=true)",
        ),
        (
            {"CHAIN_SOURCE": "koios", "POOL_ID": POOL, "OPEN_ELIGIBILITY": "false"},
            "INFO accounts: chain mode (CHAIN_SOURCE=koios)",
        ),
    ],
)
def test_the_web_says_the_mode_once_when_it_starts(tmp_path, settings_, said):
    [line] = web_start_log(tmp_path, **settings_)
    assert line.startswith(said), line


def test_a_process_that_is_not_the_web_does_not_repeat_it(tmp_path):
    env = {**os.environ, "VAR_DIR": str(tmp_path), "CHAIN_SOURCE": "none"}
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=SERVICE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert " mode (" not in done.stdout + done.stderr


def test_the_admin_index_says_the_open_mode(operator_browser, settings):
    settings.CHAIN_SOURCE = "none"
    page = operator_browser.get("/accounts/admin/")
    assert page.status_code == 200
    assert (
        '<li class="warning">Open mode (CHAIN_SOURCE=none): every active delegator may vote '
        "with their points, so one person with many accounts has many votes"
        in page.content.decode()
    )


def test_the_admin_index_says_the_chain_mode_and_the_sources_state(operator_browser, settings):
    settings.CHAIN_SOURCE, settings.OPEN_ELIGIBILITY, settings.POOL_ID = "koios", False, POOL
    page = operator_browser.get("/accounts/admin/").content.decode()
    assert '<li class="info">Chain mode (CHAIN_SOURCE=koios)' in page
    assert '<li class="info">Chain source: koios, nothing stored yet' in page
    settings.OPEN_ELIGIBILITY = True
    page = operator_browser.get("/accounts/admin/").content.decode()
    assert '<li class="warning">Open mode (OPEN_ELIGIBILITY=true)' in page


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
