"""What CI enforces beside behaviour: ruff's rules (pyproject.toml) hold everywhere, and no
model changed without its migration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("accounts", "polls", "voting")


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_ruff_finds_nothing():
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], ROOT)


@pytest.mark.parametrize("service", SERVICES)
def test_every_model_change_has_its_migration(service: str, tmp_path: Path):
    # The embedded default's SQLite in a throwaway folder: the check reads no data.
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", f"{service.upper()}_DATABASE_URL")}
    env["VAR_DIR"] = str(tmp_path)
    run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        ROOT / f"{service}_service", env)


def test_the_system_tests_send_their_requests_through_one_client():
    """harness.http: one place for the headers, the timeout and what an error status is. A
    browser keeping cookies (build_opener) is another concern and may differ."""
    others = [path.name for path in sorted((ROOT / "tests" / "system").glob("*.py"))
              if path.name != "harness.py" and "urlopen(" in path.read_text()]
    assert others == []
