"""The layers of docs/architecture.md: each package imports only the layers below it.

Every way of importing counts: ``import gitrun.x``, ``from gitrun.x import y``, ``from gitrun import x``,
relative imports (``from ..store import refs``), imports inside functions or ``if TYPE_CHECKING:``
blocks, and ``importlib.import_module("gitrun.x")`` / ``__import__`` with a literal name. The tests
at the bottom plant one violation of each kind in a copy of the package and check it is caught.
"""

from __future__ import annotations

import ast
import functools
import shutil
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gitrun"
ORDER = ["errors", "model", "store", "capture", "runner", "commands", "cli", "tui"]
# May import: every layer below; cli and tui are siblings at the top.
ALLOWED = {layer: set(ORDER[: index + 1]) for index, layer in enumerate(ORDER)}
ALLOWED["tui"] = set(ORDER[:6]) | {"tui"}
ALLOWED["cli"] = set(ORDER[:7]) | {"tui"}  # `git run ui` starts the terminal UI
# Drop-in APIs, framework callbacks, notebooks: above commands, beside cli; they record through the
# in-script API (``gitrun.api``, an entry point like ``gitrun.wandb``/``gitrun.mlflow``, which forward to them).
ALLOWED["integrations"] = set(ORDER[:6]) | {"integrations", "api"}
DYNAMIC_IMPORTERS = {"import_module", "__import__"}


def layer_of(package: Path, path: Path) -> str:
    relative = path.relative_to(package)
    return relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 else relative.stem


def module_name(package: Path, path: Path) -> list[str]:
    """``gitrun/store/refs.py`` -> ["gitrun", "store", "refs"]; a package's ``__init__`` is the package."""
    parts = [package.name, *path.relative_to(package).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(package: Path, path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, as absolute dotted names, with the line that imports it."""
    return _imports_of_text(package, path, path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=4096)
def _imports_of_text(package: Path, path: Path, text: str) -> list[tuple[int, str]]:
    tree = ast.parse(text)
    here = module_name(package, path)
    own_package = here if path.name == "__init__.py" else here[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):  # the whole tree: function bodies and TYPE_CHECKING blocks too
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = own_package[: len(own_package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # ``from gitrun import commands`` and ``from . import refs`` import modules by name.
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names
                      if alias.name != "*" and _is_module(package, f"{module}.{alias.name}")]
        elif isinstance(node, ast.Call) and _called_name(node.func) in DYNAMIC_IMPORTERS and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((node.lineno, first.value))
    return found


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _is_module(package: Path, dotted: str) -> bool:
    parts = dotted.split(".")
    if parts[0] != package.name:
        return False
    path = package.joinpath(*parts[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def violations(package: Path) -> list[str]:
    """Every import in ``package`` that breaks the layering, as ``file:line: what``."""
    found: list[str] = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        layer = layer_of(package, path)
        imports = list(imported_modules(package, path))
        if "startup" in relative.parts:  # they run in the user's interpreter, which may lack gitrun
            found += [f"{relative}:{line}: a startup module imports {module}" for line, module in imports
                      if module.split(".")[0] == package.name]
            continue
        for line, module in imports:
            parts = module.split(".")
            if parts[0] == "textual" and layer != "tui":
                found.append(f"{relative}:{line}: imports textual outside gitrun/tui")
            if parts[0] != package.name or len(parts) == 1 or layer not in ALLOWED:
                continue  # the package itself (its version), or an entry point above the layers
            target = parts[1]
            if target not in ALLOWED[layer]:
                found.append(f"{relative}:{line}: {layer} imports {module}")
    return found


def test_every_module_imports_only_lower_layers() -> None:
    assert violations(PACKAGE) == []


# Commands and the cli reach git through ``gitrun.store`` (plain data in, plain data out); the modules
# that still import pygit2 are listed here, each with its reason in docs/architecture.md ("Commands
# and pygit2"). Keys are paths relative to the package.
PYGIT2_ALLOWED: dict[str, str] = {
    "commands/diff.py": "tree diffs and the working tree's snapshot for `diff RUN .`",
}
PYGIT2_FREE_LAYERS = {"commands", "cli"}


def pygit2_importers(package: Path) -> dict[str, list[int]]:
    """Modules of the command and cli layers that import pygit2 (any form), with the lines."""
    found: dict[str, list[int]] = {}
    for path in sorted(package.rglob("*.py")):
        if layer_of(package, path) not in PYGIT2_FREE_LAYERS:
            continue
        lines = [line for line, module in imported_modules(package, path) if module.split(".")[0] == "pygit2"]
        if lines:
            found[path.relative_to(package).as_posix()] = lines
    return found


def pygit2_violations(package: Path, allowed: dict[str, str]) -> list[str]:
    """Command or cli modules importing pygit2 without being on ``allowed``, and stale allow-list entries."""
    importers = pygit2_importers(package)
    found = [f"{module}:{lines[0]}: imports pygit2; reach git through gitrun.store (or allow-list it "
             "with its reason in docs/architecture.md)" for module, lines in importers.items()
             if module not in allowed]
    found += [f"{module}: on the pygit2 allow-list but imports no pygit2: remove it from the list"
              for module in allowed if module not in importers]
    return found


def test_commands_reach_git_through_the_store() -> None:
    assert pygit2_violations(PACKAGE, PYGIT2_ALLOWED) == []


def handle_uses(package: Path, allowed: dict[str, str]) -> list[str]:
    """Calls and attribute reads on the repository handle (``ctx.repo.get(...)``, ``repo.status()``) in
    command and cli modules off ``allowed``: they pass the handle to store functions, nothing more."""
    found: list[str] = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if layer_of(package, path) not in PYGIT2_FREE_LAYERS or relative in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute | ast.Subscript) and _is_handle(node.value):
                found.append(f"{relative}:{node.lineno}: uses the repository handle directly; call a gitrun.store "
                             "function with it")
    return found


def _is_handle(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "repo") or (isinstance(node, ast.Attribute)
                                                                    and node.attr == "repo")


def test_commands_only_pass_the_repository_handle_on() -> None:
    assert handle_uses(PACKAGE, PYGIT2_ALLOWED) == []


@pytest.mark.parametrize("code", ["def f(ctx):\n    return ctx.repo.get('abc')\n",
                                  "def f(repo):\n    return repo.status()\n",
                                  "def f(self):\n    return self.repo.references['refs/heads/x']\n"])
def test_a_planted_handle_use_is_caught(code: str, package_copy: Path) -> None:
    path = package_copy / "commands" / "rm.py"
    original = path.read_text(encoding="utf-8")
    try:
        assert handle_uses(package_copy, PYGIT2_ALLOWED) == []
        path.write_text(original + "\n" + code, encoding="utf-8")
        found = handle_uses(package_copy, PYGIT2_ALLOWED)
        assert len(found) == 1 and found[0].startswith("commands/rm.py:"), found
    finally:
        path.write_text(original, encoding="utf-8")


def test_every_pygit2_exception_is_explained_in_the_architecture() -> None:
    section = _architecture_section("Commands and pygit2")
    unexplained = [module for module in PYGIT2_ALLOWED if f"`{module}`" not in section]
    assert unexplained == [], "explain why in docs/architecture.md, section 'Commands and pygit2'"


def _architecture_section(title: str) -> str:
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


PLANTED_PYGIT2 = {
    "a top-level import": "import pygit2\n",
    "a from-import": "from pygit2 import Repository\n",
    "a submodule import": "import pygit2.enums as enums\n",
    "an import inside a function": "def later():\n    import pygit2\n",
    "a TYPE_CHECKING import": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pygit2\n",
    "importlib.import_module": "import importlib\nimportlib.import_module('pygit2')\n",
}


@pytest.mark.parametrize("kind", PLANTED_PYGIT2)
@pytest.mark.parametrize("relative", ["commands/rm.py", "cli/queue.py"])
def test_a_planted_pygit2_import_is_caught(kind: str, relative: str, package_copy: Path) -> None:
    path = package_copy / relative
    original = path.read_text(encoding="utf-8")
    try:
        assert relative not in pygit2_importers(package_copy)  # the clean module passes...
        path.write_text(original + "\n" + PLANTED_PYGIT2[kind], encoding="utf-8")
        found = pygit2_violations(package_copy, PYGIT2_ALLOWED)  # ...and fails with the import
        assert found and all(line.startswith(relative + ":") for line in found), (kind, found)
        assert pygit2_violations(package_copy, {**PYGIT2_ALLOWED, relative: "planted"}) == []
    finally:
        path.write_text(original, encoding="utf-8")


def test_a_stale_pygit2_allowance_is_reported(package_copy: Path) -> None:
    found = pygit2_violations(package_copy, {**PYGIT2_ALLOWED, "commands/rm.py": "no longer needed"})
    assert found == ["commands/rm.py: on the pygit2 allow-list but imports no pygit2: remove it from the list"]


def test_store_and_lower_layers_may_import_pygit2(package_copy: Path) -> None:
    path = package_copy / "store" / "refs.py"
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original + "\ndef later():\n    import pygit2\n", encoding="utf-8")
        assert pygit2_violations(package_copy, PYGIT2_ALLOWED) == []
    finally:
        path.write_text(original, encoding="utf-8")


PLANTED = {
    "relative import of a higher layer": ("model/run.py", "from ..store import refs\n"),
    "relative import of a sibling module by name": ("store/refs.py", "from .. import commands\n"),
    "from gitrun import a higher layer": ("capture/code.py", "from gitrun import runner\n"),
    "import inside a function": ("store/notes.py", "def later():\n    import gitrun.cli.app\n"),
    "from-import inside a method": (
        "model/query.py", "class Later:\n    def go(self):\n        from gitrun.commands.record import record\n"),
    "TYPE_CHECKING import": (
        "runner/process.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gitrun.cli import app\n"),
    "importlib.import_module": ("model/ids.py", "import importlib\nimportlib.import_module('gitrun.store.refs')\n"),
    "textual outside the UI": ("commands/show.py", "def later():\n    import textual.app\n"),
    "a startup module importing gitrun": ("capture/startup/_gitrun_params.py", "import gitrun.errors\n"),
    "an integration importing the cli": ("integrations/wandb.py", "def later():\n    from gitrun.cli import app\n"),
    "a command importing an integration": ("commands/show.py", "import gitrun.integrations.wandb\n"),
}


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("layers") / "gitrun"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.mark.parametrize("kind", PLANTED)
def test_a_planted_violation_is_caught(kind: str, package_copy: Path) -> None:
    relative, code = PLANTED[kind]
    path = package_copy / relative
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original + "\n" + code, encoding="utf-8")
        found = violations(package_copy)
    finally:
        path.write_text(original, encoding="utf-8")
    assert found and all(line.startswith(relative + ":") for line in found), (kind, found)


def test_lower_layers_and_the_package_version_are_allowed(package_copy: Path) -> None:
    path = package_copy / "commands" / "show.py"
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original + "\nfrom gitrun import __version__\nfrom ..store import refs\n"
                        "def later():\n    from gitrun.model import ids\n", encoding="utf-8")
        assert violations(package_copy) == []
    finally:
        path.write_text(original, encoding="utf-8")
