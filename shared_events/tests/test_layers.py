"""The package's two rules of who imports what (ARCHITECTURE.md): the core never imports the
kit, and only the core's transport package imports nats. Read from the source, so an import
inside a function counts too."""

import ast
from collections.abc import Iterator
from pathlib import Path

import shared_events

PACKAGE_DIR = Path(shared_events.__file__).parent


def module_name(path: Path) -> str:
    parts = ["shared_events", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of everything `module` imports, relative imports made absolute."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            yield node.lineno, origin
            for alias in node.names:  # `from .. import kit` names a module too
                yield node.lineno, f"{origin}.{alias.name}"


def _sources(under: Path) -> list[Path]:
    return sorted(p for p in under.rglob("*.py") if "__pycache__" not in p.parts)


def _imports_of(name: str, under: Path) -> list[str]:
    return [
        f"{path.relative_to(PACKAGE_DIR)}:{line} imports {imported}"
        for path in _sources(under)
        for line, imported in imported_modules(
            path.read_text(), module_name(path), is_package=path.name == "__init__.py"
        )
        if imported == name or imported.startswith(f"{name}.")
    ]


def test_the_core_never_imports_the_kit():
    assert _sources(PACKAGE_DIR / "core")
    assert _imports_of("shared_events.kit", PACKAGE_DIR / "core") == []


def test_only_the_transport_package_imports_nats():
    transport = PACKAGE_DIR / "core" / "transport"
    found = _imports_of("nats", PACKAGE_DIR)
    assert found, "the transport package imports nats"
    outside = [f for f in found if not f.startswith(f"{transport.relative_to(PACKAGE_DIR)}/")]
    assert outside == []


def test_relative_imports_are_read_as_the_modules_they_name():
    source = "from ...kit import health\nfrom .. import kit\nfrom .models import OutboxEvent\n"
    found = {
        name
        for _, name in imported_modules(source, "shared_events.core.outbox.relay", is_package=False)
    }
    assert {
        "shared_events.kit",
        "shared_events.kit.health",
        "shared_events.core.kit",
        "shared_events.core.outbox.models",
    } <= found
    package = {
        name
        for _, name in imported_modules(
            "from .. import kit\n", "shared_events.core", is_package=True
        )
    }
    assert "shared_events.kit" in package
