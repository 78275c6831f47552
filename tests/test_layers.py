"""The layers of docs/architecture.md: each package imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gitrun"
ORDER = ["errors", "model", "store", "capture", "runner", "commands", "cli", "tui"]
# May import: every layer below; cli and tui are siblings at the top.
ALLOWED = {layer: set(ORDER[: index + 1]) for index, layer in enumerate(ORDER)}
ALLOWED["tui"] = set(ORDER[:6]) | {"tui"}
ALLOWED["cli"] = set(ORDER[:7])
TOP_LEVEL_OK = {"gitrun", "gitrun.errors"}  # the package itself (version) and the exception hierarchy


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 else relative.stem


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


MODULES = [path for path in PACKAGE.rglob("*.py") if "startup" not in path.parts]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_lower_layers(path: Path) -> None:
    layer = layer_of(path)
    if layer not in ALLOWED:
        return  # gitrun/__init__.py, __main__.py, api.py: entry points above the layers
    for line, module in imported_modules(path):
        if module.split(".")[0] == "textual":
            assert layer == "tui", f"{path.name}:{line} imports textual outside gitrun/tui"
        if not module.startswith("gitrun.") or module in TOP_LEVEL_OK:
            continue
        target = module.split(".")[1]
        assert target in ALLOWED[layer], f"{path.relative_to(PACKAGE)}:{line}: {layer} imports {module}"


def test_startup_modules_import_nothing_from_gitrun() -> None:
    """They run inside the user's interpreter, which may not have gitrun installed."""
    for path in (PACKAGE / "capture" / "startup").glob("*.py"):
        for line, module in imported_modules(path):
            assert not module.startswith("gitrun"), f"{path.name}:{line} imports {module}"
