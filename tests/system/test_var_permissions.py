"""`manage_all.py migrate` on the embedded default, into a new VAR_DIR: the SQLite databases
(accounts' holds the password hashes), the keys and var/ itself are the owner's alone."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.system.harness import ROOT

MIGRATE_TIMEOUT = 300.0


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_migrate_leaves_nothing_in_var_readable_by_others(tmp_path):
    var = tmp_path / "var"
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env["VAR_DIR"] = str(var)  # and no DATABASE_URL, broker or NATS: the embedded default
    done = subprocess.run(
        [sys.executable, "manage_all.py", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT,
        preexec_fn=lambda: os.umask(0o022),
    )  # the umask that gave 0644
    assert done.returncode == 0, done.stdout + done.stderr

    databases = sorted(var.glob("*.sqlite3*"))
    assert {p.name for p in databases} >= {"accounts.sqlite3", "polls.sqlite3", "voting.sqlite3"}, (
        databases
    )
    private = [*databases, *var.glob("secrets/*"), var / "jwt" / "private.pem"]
    assert {p.name: oct(mode(p)) for p in private} == {p.name: "0o600" for p in private}
    assert mode(var) == 0o700
