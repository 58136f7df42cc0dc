"""The tests every service runs on how it says its mode (`chain_mode`): once in its web
server's log when it starts, never in its other processes, and on its admin's index.

A service's tests subclass `ChainModeChecks` as `TestChainMode`, naming the service; the
checks run in each service's own suite, with its own settings and admin.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model


def web_start_log(tmp_path: Path, **settings: str) -> list[str]:
    """The log lines that say a mode when the web's WSGI application loads, in a process of
    its own as gunicorn's worker loads it."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "VAR_DIR": str(tmp_path)}
    env.update(settings)
    done = _run_in_service([sys.executable, "-c", "import config.wsgi"], env)
    return [line for line in done.stderr.splitlines() if " mode (" in line]


def _run_in_service(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(
        command,
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.django_db
class ChainModeChecks:
    """Subclass with `service` set (the name its log lines and admin path carry). The admin
    checks sign in with the `operator_browser` fixture: a superuser of Django's user model
    here; a service whose operators sign in otherwise overrides it."""

    service: ClassVar[str]
    # Settings the service needs besides CHAIN_SOURCE to start in chain mode.
    chain_settings: ClassVar[dict[str, str]] = {}

    @pytest.fixture
    def operator_browser(self, client: Any) -> Any:
        operator = get_user_model().objects.create_superuser("op", "op@example.org", "unused")
        client.force_login(operator)
        return client

    @pytest.mark.parametrize(
        "settings_, said",
        [
            ({"CHAIN_SOURCE": "none"}, "WARNING {service}: open mode (CHAIN_SOURCE=none): every"),
            (
                {"CHAIN_SOURCE": "koios", "OPEN_ELIGIBILITY": "true"},
                "WARNING {service}: open mode (OPEN_ELIGIBILITY=true)",
            ),
            (
                {"CHAIN_SOURCE": "koios", "OPEN_ELIGIBILITY": "false"},
                "INFO {service}: chain mode (CHAIN_SOURCE=koios)",
            ),
        ],
    )
    def test_the_web_says_the_mode_once_when_it_starts(
        self, tmp_path: Path, settings_: dict[str, str], said: str
    ) -> None:
        [line] = web_start_log(tmp_path, **self.chain_settings, **settings_)
        level, message = said.format(service=self.service).split(" ", 1)
        assert f" {level} " in line and message in line, line

    def test_a_process_that_is_not_the_web_does_not_repeat_it(self, tmp_path: Path) -> None:
        env = {**os.environ, "VAR_DIR": str(tmp_path), "CHAIN_SOURCE": "none"}
        done = _run_in_service([sys.executable, "manage.py", "check"], env)
        assert " mode (" not in done.stdout + done.stderr

    def test_the_admin_index_says_the_open_mode(self, operator_browser: Any, settings: Any) -> None:
        settings.CHAIN_SOURCE, settings.OPEN_ELIGIBILITY = "none", False
        page = operator_browser.get(f"/{self.service}/admin/")
        assert page.status_code == 200
        assert (
            '<li class="warning">Open mode (CHAIN_SOURCE=none): every active delegator may vote '
            "with their points, so one person with many accounts has many votes"
        ) in page.content.decode()

    def test_the_admin_index_says_the_chain_mode(
        self, operator_browser: Any, settings: Any
    ) -> None:
        settings.CHAIN_SOURCE, settings.OPEN_ELIGIBILITY = "koios", False
        for name, value in self.chain_settings.items():
            setattr(settings, name, value)
        page = operator_browser.get(f"/{self.service}/admin/").content.decode()
        assert '<li class="info">Chain mode (CHAIN_SOURCE=koios): only the pool' in page
        assert "Open mode" not in page
        settings.OPEN_ELIGIBILITY = True
        page = operator_browser.get(f"/{self.service}/admin/").content.decode()
        assert '<li class="warning">Open mode (OPEN_ELIGIBILITY=true)' in page
