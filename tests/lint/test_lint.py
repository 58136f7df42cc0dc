"""What CI enforces beside behaviour: ruff's rules (pyproject.toml) hold everywhere, mypy finds
nothing in shared_events nor in what holds each service's rules, and no model changed without
its migration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("accounts", "polls", "voting")
# What mypy checks in each service, in one place: its services, selectors and event handlers
# (consumers), each a package (services/) or a module (services.py).
TYPED_LAYERS = {
    "accounts": ("services", "selectors"),
    "polls": ("services", "selectors", "consumers"),
    "voting": ("services", "selectors", "consumers"),
}


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_ruff_finds_nothing():
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], ROOT)


def test_the_tree_is_formatted():
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], ROOT)


def embedded_env(tmp_path: Path, *drop: str) -> dict[str, str]:
    """The embedded default's settings in a throwaway folder: the checks read no data."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", *drop)}
    env["VAR_DIR"] = str(tmp_path)
    return env


def mypy(paths: list[str], cwd: Path, settings: str, tmp_path: Path) -> str:
    env = embedded_env(tmp_path, *(f"{s.upper()}_DATABASE_URL" for s in SERVICES))
    # The Django plugin loads these settings, the way the code under check runs.
    env["DJANGO_SETTINGS_MODULE"] = settings
    return run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), *paths],
        cwd,
        env,
    )


def typed_paths(service: str) -> list[str]:
    app = ROOT / f"{service}_service" / service
    paths = []
    for layer in TYPED_LAYERS[service]:
        found = [p for p in (app / layer, app / f"{layer}.py") if p.exists()]
        assert found, f"{service} has neither {layer}/ nor {layer}.py"
        paths += [str(p.relative_to(app.parent)) for p in found]
    return paths


def test_mypy_finds_nothing_in_shared_events(tmp_path: Path):
    mypy(["shared_events"], ROOT / "shared_events", "tests.typecheck_settings", tmp_path)


@pytest.mark.parametrize("service", SERVICES)
def test_mypy_finds_nothing_in_what_holds_a_services_rules(service: str, tmp_path: Path):
    mypy(typed_paths(service), ROOT / f"{service}_service", "config.settings", tmp_path)


@pytest.mark.parametrize("service", SERVICES)
def test_every_model_change_has_its_migration(service: str, tmp_path: Path):
    env = embedded_env(tmp_path, f"{service.upper()}_DATABASE_URL")
    run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        ROOT / f"{service}_service",
        env,
    )


def test_the_system_tests_send_their_requests_through_one_client():
    """harness.http: one place for the headers, the timeout and what an error status is. A
    browser keeping cookies (build_opener) is another concern and may differ."""
    others = [
        path.name
        for path in sorted((ROOT / "tests" / "system").glob("*.py"))
        if path.name != "harness.py" and "urlopen(" in path.read_text()
    ]
    assert others == []
