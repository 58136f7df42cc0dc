"""Which mode runs (shared_events.kit.chain_mode) is said once when the web server starts and
on the admin's index: the open mode (`CHAIN_SOURCE=none`, or `OPEN_ELIGIBILITY=true`) lets
one person with many accounts vote many times."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User

import config

pytestmark = pytest.mark.django_db
SERVICE_DIR = Path(config.__file__).resolve().parents[1]


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
        ({"CHAIN_SOURCE": "none"}, "WARNING voting: open mode (CHAIN_SOURCE=none): every active"),
        (
            {"CHAIN_SOURCE": "file", "OPEN_ELIGIBILITY": "true"},
            "WARNING voting: open mode (OPEN_ELIGIBILITY=true)",
        ),
        (
            {"CHAIN_SOURCE": "koios", "OPEN_ELIGIBILITY": "false"},
            "INFO voting: chain mode (CHAIN_SOURCE=koios)",
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


@pytest.fixture
def operator_browser(client):
    client.force_login(User.objects.create_superuser("op", "op@example.org", "unused"))
    return client


def test_the_admin_index_says_the_open_mode(operator_browser, settings):
    settings.CHAIN_SOURCE, settings.OPEN_ELIGIBILITY = "none", False
    page = operator_browser.get("/voting/admin/")
    assert page.status_code == 200
    assert (
        '<li class="warning">Open mode (CHAIN_SOURCE=none): every active delegator may vote '
        "with their points, so one person with many accounts has many votes"
    ) in page.content.decode()


def test_the_admin_index_says_the_chain_mode(operator_browser, settings):
    settings.CHAIN_SOURCE, settings.OPEN_ELIGIBILITY = "file", False
    page = operator_browser.get("/voting/admin/").content.decode()
    assert '<li class="info">Chain mode (CHAIN_SOURCE=file): only the pool' in page
    assert "Open mode" not in page
    settings.OPEN_ELIGIBILITY = True
    page = operator_browser.get("/voting/admin/").content.decode()
    assert '<li class="warning">Open mode (OPEN_ELIGIBILITY=true)' in page
