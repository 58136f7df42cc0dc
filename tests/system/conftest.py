"""Fixtures of the system tests: one real platform per session (see harness.py), and its
processes' logs attached to the report of any test that fails.

The modules on the session's platform run last: it starts with its first test, so it does not
idle beside the modules that start a platform, `up` or a benchmark of their own (an idle
platform's beats, workers and consumers take about a tenth of a core, on a 2-core machine)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.system.harness import Platform, started_platform


@pytest.fixture(scope="session")
def platform() -> Iterator[Platform]:
    with started_platform() as running:
        yield running


def _on_the_session_platform(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.get("platform", ()) if info else ()
    # The last definition is the one the test gets: a module may have a platform of its own.
    return bool(definitions) and definitions[-1].scope == "session"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Whole modules move (a stable sort), so each module's own fixtures are set up once.
    shared = {getattr(item, "module", None) for item in items if _on_the_session_platform(item)}
    items.sort(key=lambda item: getattr(item, "module", None) in shared)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    running = getattr(item, "funcargs", {}).get("platform")
    if report.failed and isinstance(running, Platform):
        report.sections.append(("platform logs", running.logs()))
    return report
