"""`manage_all.py test`: every test suite in its own process (Django settings are per process),
then one summary and one total line: `N passed, N failed`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("accounts", "polls", "voting")
TARGETS = ["lint", "shared_events", *SERVICES, "deploy", "system"]
NO_TESTS_COLLECTED = 5  # pytest's exit code when nothing was collected
_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)\b")
_FINAL = re.compile(r"\bin \d+(?:\.\d+)?s\b")


class Result(NamedTuple):
    target: str
    returncode: int
    passed: int
    failed: int
    seconds: float
    verdict: str


def tests_folder(target: str) -> Path:
    if target == "shared_events":
        return ROOT / "shared_events" / "tests"
    if target in ("lint", "system", "deploy"):
        return ROOT / "tests" / target
    return ROOT / f"{target}_service" / target


def has_tests(target: str) -> bool:
    return any(tests_folder(target).rglob("test_*.py"))


# pytest options whose value is a separate argument that may look like a test path.
_OPTIONS_WITH_A_VALUE = {
    "--deselect",
    "--ignore",
    "--ignore-glob",
    "-k",
    "-m",
    "-p",
    "-o",
    "-c",
    "--rootdir",
    "--confcutdir",
    "--basetemp",
}


def _names_tests(extra: list[str]) -> bool:
    """Whether pytest's arguments name test files or test ids under tests/ themselves."""
    return any(
        not arg.startswith("-")
        and arg.split("::")[0].startswith("tests/")
        and (i == 0 or extra[i - 1] not in _OPTIONS_WITH_A_VALUE)
        for i, arg in enumerate(extra)
    )


def command(target: str, extra: list[str]) -> tuple[list[str], Path, dict[str, str]]:
    env = dict(os.environ)
    # A suite makes its own throwaway var/ and NATS server; never the developer's.
    env.pop("VAR_DIR", None)
    env.pop("DATABASE_URL", None)
    env["PYTHONUNBUFFERED"] = "1"
    pytest = [sys.executable, "-m", "pytest", *extra]
    if target == "shared_events":
        # Its tests start their own NATS and Redis. Celery prefers a CELERY_BROKER_URL in the
        # environment to the broker an app is given, which would send them to the shared one.
        env.pop("CELERY_BROKER_URL", None)
        return pytest, ROOT / "shared_events", env  # reads SHARED_EVENTS_DATABASE_URL itself
    if target in ("lint", "system", "deploy"):
        # Named test files narrow the suite; otherwise the whole folder runs.
        folder = [] if _names_tests(extra) else [f"tests/{target}"]
        # system reads <SERVICE>_DATABASE_URL itself; deploy renders the manifests offline;
        # lint runs ruff, mypy and makemigrations --check
        return [*pytest, *folder], ROOT, env
    if env.get(f"{target.upper()}_DATABASE_URL"):
        env["DATABASE_URL"] = env[f"{target.upper()}_DATABASE_URL"]
    return pytest, ROOT / f"{target}_service", env


def counts(summary: str) -> tuple[int, int]:
    found = {kind: int(n) for n, kind in _COUNT.findall(summary)}
    failed = found.get("failed", 0) + found.get("error", 0) + found.get("errors", 0)
    return found.get("passed", 0), failed


def run_target(target: str, extra: list[str]) -> Result:
    argv, cwd, env = command(target, extra)
    print(f"\n>>> {target}: {' '.join(argv[1:])}  (in {cwd.relative_to(ROOT) or '.'})", flush=True)
    started = time.monotonic()
    summary = ""
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            if _FINAL.search(line) and (_COUNT.search(line) or "no tests ran" in line):
                summary = line
    seconds = time.monotonic() - started
    passed, failed = counts(summary)
    rc = proc.returncode
    if rc == NO_TESTS_COLLECTED and not (has_tests(target) and not extra):
        verdict = "no tests selected" if extra else "no tests yet"
    elif rc == 0:
        verdict = "ok"
    else:
        verdict = f"FAILED (pytest exit code {rc})"
        if failed == 0:
            failed = 1  # it failed without a count (collection error, crash, nothing ran)
    return Result(target, rc, passed, failed, seconds, verdict)


def run_test_targets(targets: list[str], extra: list[str]) -> int:
    results = [run_target(target, extra) for target in targets]
    print("\n" + "=" * 30 + " manage_all test summary " + "=" * 30)
    for r in results:
        print(
            f"  {r.target:<14} {r.passed:>4} passed {r.failed:>3} failed  "
            f"{r.seconds:6.1f}s  {r.verdict}"
        )
    passed, failed = sum(r.passed for r in results), sum(r.failed for r in results)
    bad = [r for r in results if r.verdict.startswith("FAILED")]
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if bad or failed else 0
