"""Fixtures of the system tests: one real platform per session (see harness.py), and its
processes' logs attached to the report of any test that fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.system.harness import Platform, started_platform


@pytest.fixture(scope="session")
def platform() -> Iterator[Platform]:
    with started_platform() as running:
        yield running


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    running = getattr(item, "funcargs", {}).get("platform")
    if report.failed and isinstance(running, Platform):
        report.sections.append(("platform logs", running.logs()))
    return report
