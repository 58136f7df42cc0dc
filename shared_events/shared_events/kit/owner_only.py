"""var/ and the SQLite databases in it, readable by the user running the platform alone.

The embedded default keeps password hashes (accounts' database), the secrets and the JWT
signing key under var/; other local users must read none of it. The keys are written 0600
(identity/keys.py); this does the same for a new var/ and for the databases, tightening a
database that an earlier version left readable, where this user owns it.
"""

from __future__ import annotations

import os
from pathlib import Path

# SQLite gives the files it creates beside a database the database file's own mode.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _tighten(path: Path, mode: int) -> None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    if status.st_mode & 0o777 & ~mode and status.st_uid == os.geteuid():
        path.chmod(mode)


def owner_only_dir(path: Path) -> Path:
    """Created 0700; one that exists is left as it is (VAR_DIR may name a directory that is
    not var's alone), the files that matter in it are tightened one by one."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def owner_only_sqlite(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it (an empty file is an empty
    database), so it is never readable by others, not even for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:  # an earlier start, or another process starting now
        pass
    for suffix in ("", *SQLITE_SIDE_FILES):
        _tighten(path.with_name(path.name + suffix), 0o600)
