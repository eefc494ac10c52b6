"""Layers point one way (docs/architecture.md, "Layers"): each package of seqstore imports only
the layers below it. Read from the source (imports under `if TYPE_CHECKING:` are for types only
and do not count)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "seqstore"

# What each top-level module or package of seqstore may import (besides itself).
BASE = {"errors", "config", "native", "logs"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "config": set(),
    "native": set(),
    "logs": set(),
    "genomics": {"native"},
    "db": {"config", "errors"},
    "blobs": {"config", "errors"},
    "queue": {"db"} | BASE,
    "store": {"db", "blobs", "queue"} | BASE,
    "protocol": BASE,
    "api": {"protocol", "store"} | BASE,
    "jobs": {"store", "queue", "blobs", "genomics"} | BASE,
    "dataplane": {"protocol", "store", "blobs", "genomics"} | BASE,
    "server": {"api", "jobs", "dataplane", "protocol", "store", "queue", "db", "blobs"} | BASE,
    "cli": {"cli_commands", "server", "api", "jobs", "dataplane", "protocol", "store", "queue", "db", "blobs"} | BASE,
    "cli_commands": {"server", "jobs", "dataplane", "store", "db", "blobs"} | BASE,
    "testing": {"server", "store", "cli"} | BASE,
    "__init__": set(),
    "__main__": {"cli"},
}


def layer_of(path: Path) -> str:
    part = path.relative_to(PACKAGE).parts[0]
    return part.removesuffix(".py")


def imported_layers(path: Path) -> set[str]:
    """The seqstore layers a module imports at run time."""
    tree = ast.parse(path.read_text(), str(path))
    # The package a relative import starts from: the module's own package.
    package = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)[:-1]
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                names = [module] if node.module else [f"{module}.{alias.name}" for alias in node.names]
            else:
                names = [node.module or ""]
        for name in names:
            words = name.split(".")
            if words[0] == "seqstore" and len(words) > 1:
                found.add(words[1])
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_lower_layers(path: Path) -> None:
    layer = layer_of(path)
    assert layer in ALLOWED, f"{layer} is not a known layer: add it to ALLOWED and docs/architecture.md"
    upward = imported_layers(path) - ALLOWED[layer] - {layer}
    assert not upward, f"{path.relative_to(PACKAGE)} ({layer}) imports {sorted(upward)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_is_at_most_400_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= 400, f"{path.relative_to(PACKAGE)} has {lines} lines: split it by idea"


def test_the_check_sees_imports_of_each_form() -> None:
    """The checker itself resolves relative imports from modules and packages."""
    assert {"db", "queue", "errors", "blobs"} <= imported_layers(PACKAGE / "store" / "uploads.py")
    assert {"db"} <= imported_layers(PACKAGE / "queue" / "__init__.py") | imported_layers(
        PACKAGE / "queue" / "jobs.py"
    )
    assert "native" in imported_layers(PACKAGE / "protocol" / "auth.py")
