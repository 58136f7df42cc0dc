"""What `manage_all.py status` runs in accounts, `manage.py events_status` and `chain_status`,
starts without pycardano and without the URLconf: importing them took seconds of a loaded
machine's CPU (status runs every service's at once), and the commands read a few tables and
JetStream, nothing of a stake proof or a view."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

SERVICE_DIR = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The test database, as a URL for a process of its own."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        name = str(db["TEST"].get("NAME") or db["NAME"])
        if ":memory:" in name or "mode=memory" in name:
            pytest.skip("an in-memory test database cannot be shared with another process")
        return f"sqlite:///{name}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("command", ["events_status", "chain_status"])
def test_the_status_commands_import_neither_pycardano_nor_the_views(command, tmp_path):
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "manage.py", command, "--json"],
        cwd=SERVICE_DIR,
        env={
            "PATH": "/usr/bin:/bin",
            "VAR_DIR": str(tmp_path),
            "DATABASE_URL": database_url(),
            "NATS_URL": "nats://127.0.0.1:1",  # refused at once: status says so, exit 1
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.startswith("{"), done.stdout[-2000:] + done.stderr[-3000:]
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "django.core.management" in imported  # the measure works
    assert not {m for m in imported if m.split(".")[0] == "pycardano"}
    assert "accounts.urls" not in imported
