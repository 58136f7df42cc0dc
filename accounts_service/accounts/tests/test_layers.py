"""Services and selectors are called by views, the admin, commands and tasks alike, so they
speak in domain errors (shared_events.kit.errors) and Django's ValidationError, never in HTTP:
the API's exception handler turns their errors into answers."""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1]
HTTP_MODULES = ("django.http", "django.shortcuts", "rest_framework")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", ["services", "selectors"])
def test_services_and_selectors_know_nothing_of_http(package):
    modules = sorted((APP / package).glob("*.py"))
    assert modules, f"accounts/{package}/ is a package of modules"
    speaking_http = {
        path.name: sorted(m for m in imported_modules(path) if m.startswith(HTTP_MODULES))
        for path in modules
    }
    assert {name: found for name, found in speaking_http.items() if found} == {}
