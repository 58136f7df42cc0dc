"""Liveness of the long-running roles (consumer, Celery worker and beat): a heartbeat file that
the role's run loop touches whenever it has shown it still makes progress, and the probe that
Kubernetes runs (an exec probe) to check that the file is fresh.

    python -m shared_events.core.heartbeat --max-age 60

The file is HEARTBEAT_FILE (unset: no heartbeat, as in `manage_all.py up`); a role touches it at
most every HEARTBEAT_INTERVAL_SECONDS. Both come from the environment, which the probe shares
with the process it checks. Standard library only: the probe starts no Django, and the beat
never raises (a full or read-only disk must not stop the loop it reports on).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

FILE_VARIABLE = "HEARTBEAT_FILE"
INTERVAL_VARIABLE = "HEARTBEAT_INTERVAL_SECONDS"
DEFAULT_INTERVAL_SECONDS = 5.0


class Heartbeat:
    """Touches `path` on `beat()`, at most twice every `interval` seconds (a busy loop beats
    on every iteration without writing the disk each time; a loop that beats every `interval`
    writes each time even if its timer fires a little early)."""

    def __init__(self, path: Path | None, interval: float = DEFAULT_INTERVAL_SECONDS) -> None:
        self.path = path
        self.interval = interval
        self._last = float("-inf")
        self._failed = False

    @classmethod
    def from_environment(cls, environ: os._Environ[str] | dict[str, str] | None = None):
        environ = os.environ if environ is None else environ
        # Literal names: tests/deploy checks every variable the manifests set is read here.
        path = environ.get("HEARTBEAT_FILE") or None
        interval = float(environ.get("HEARTBEAT_INTERVAL_SECONDS") or DEFAULT_INTERVAL_SECONDS)
        if interval <= 0:
            raise ValueError(f"{INTERVAL_VARIABLE} must be positive, not {interval}")
        return cls(Path(path) if path else None, interval)

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def beat(self) -> None:
        if self.path is None:
            return
        now = time.monotonic()
        if now - self._last < self.interval / 2:
            return
        try:
            self.path.touch()
            os.utime(self.path)  # touch() leaves an existing file's time alone on some systems
        except OSError as exc:
            if not self._failed:  # once, not at every beat
                log.warning("cannot write the heartbeat file %s: %s", self.path, exc)
            self._failed = True
            return
        self._failed = False
        self._last = now


def age(path: Path, now: float | None = None) -> float | None:
    """Seconds since the file was last touched; None if there is no such file."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    return (time.time() if now is None else now) - mtime


def check(path: Path | None, max_age: float, now: float | None = None) -> tuple[bool, str]:
    """(alive, why): the probe's verdict on the heartbeat file."""
    if path is None:
        return False, f"{FILE_VARIABLE} is not set: this process writes no heartbeat"
    seconds = age(path, now)
    if seconds is None:
        return False, f"no heartbeat yet ({path} does not exist)"
    if seconds > max_age:
        return False, f"heartbeat is {seconds:.0f} s old (more than {max_age:g} s): stuck"
    return True, f"heartbeat {seconds:.1f} s ago"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared_events.core.heartbeat",
        description="Exit 0 if the heartbeat file is fresh, 1 if not (a liveness probe).",
    )
    parser.add_argument(
        "--max-age", type=float, required=True, help="seconds a heartbeat stays fresh"
    )
    parser.add_argument("--file", type=Path, help=f"the heartbeat file (default ${FILE_VARIABLE})")
    args = parser.parse_args(argv)
    path = args.file or Heartbeat.from_environment().path
    alive, why = check(path, args.max_age)
    print(why, file=sys.stdout if alive else sys.stderr)
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main())
