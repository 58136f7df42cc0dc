"""The embedded default's databases (password hashes) and a new var/ are the owner's alone."""

import os
import sqlite3
import stat

import pytest

from shared_events.kit.owner_only import owner_only_dir, owner_only_sqlite
from shared_events.kit.service_settings import sqlite_database


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask():
    """The umask that made the files 0644 before (a test runner's may differ)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_database_and_the_files_sqlite_adds_beside_it_are_0600(tmp_path):
    path = tmp_path / "var" / "accounts.sqlite3"
    options = sqlite_database(path)["OPTIONS"]
    assert mode(path) == 0o600
    with sqlite3.connect(path) as db:  # as the service opens it: WAL
        for pragma in options["init_command"].split(";"):
            db.execute(pragma)
        db.execute("CREATE TABLE account (password TEXT)")
        db.execute("INSERT INTO account VALUES ('pbkdf2_sha256$...')")
        db.commit()
        side = [tmp_path / "var" / f"accounts.sqlite3{s}" for s in ("-wal", "-shm")]
        assert [(p.name, mode(p)) for p in side] == [(p.name, 0o600) for p in side]
    db.close()


def test_a_database_an_earlier_version_left_readable_is_tightened(tmp_path):
    path = tmp_path / "accounts.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE account (password TEXT)")
    db.close()
    wal = tmp_path / "accounts.sqlite3-wal"
    wal.write_bytes(b"")
    for p in (path, wal):
        p.chmod(0o644)
    sqlite_database(path)
    assert (mode(path), mode(wal)) == (0o600, 0o600)
    with sqlite3.connect(path) as db:  # still the same database
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("account",)]
    db.close()


def test_a_new_var_dir_is_0700_and_an_existing_one_is_left_alone(tmp_path):
    assert mode(owner_only_dir(tmp_path / "new" / "var")) == 0o700
    existing = tmp_path / "shared"
    existing.mkdir(mode=0o755)
    assert mode(owner_only_dir(existing)) == 0o755


def test_a_database_file_is_created_once(tmp_path):
    path = tmp_path / "polls.sqlite3"
    owner_only_sqlite(path)
    path.write_bytes(b"kept")
    owner_only_sqlite(path)
    assert path.read_bytes() == b"kept"
