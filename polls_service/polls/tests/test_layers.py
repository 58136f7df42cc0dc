"""Services and selectors know nothing of HTTP: they raise `shared_events.kit.errors` or
Django's ValidationError, and the API's exception handler (or the admin) says it in HTTP."""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent
HTTP_MODULES = ("django.http", "django.shortcuts", "rest_framework")


def layer_modules():
    return sorted(p for layer in ("services", "selectors") for p in (APP / layer).glob("*.py"))


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_every_layer_module_is_checked():
    assert {p.parent.name for p in layer_modules()} == {"services", "selectors"}


@pytest.mark.parametrize("path", layer_modules(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_http_types_below_the_views(path):
    http = sorted(
        name
        for name in imported(path)
        if any(name == m or name.startswith(f"{m}.") for m in HTTP_MODULES)
    )
    assert http == [], f"{path.name} imports {http}: raise a shared_events.kit.errors instead"
