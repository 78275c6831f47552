"""The click-free parser of plain recordings must agree with the click application."""

from __future__ import annotations

from typing import Any

import click
import pytest

from gitrun.cli import app
from gitrun.cli.fastpath import parse_record_args
from gitrun.runner.options import FEATURE_DEFAULTS


def click_record_options(args: list[str]) -> dict[str, Any]:
    """What the click group hands to the recorder for ``args`` (without running anything)."""
    ctx = app.cli.make_context("git run", list(args), resilient_parsing=True)
    params = dict(ctx.params)
    command = ctx.meta[app.COMMAND_KEY]
    base = {key: params.pop(key) for key in ("message", "name", "tags", "quiet")}
    return {"command": command, **base, "tags": list(base["tags"]), "extra": params}


@pytest.mark.parametrize("args", [
    ["--", "python", "train.py", "--lr", "0.1"],
    ["-m", "why", "--", "true"],
    ["--message=why not", "--name", "first", "--tag", "a", "--tag=b", "-q", "--", "sh", "-c", "echo -q"],
    ["--quiet", "--name=x", "--", "python", "-m", "--", "weird"],
    ["-m", "-q", "--", "true"],
    ["--data", "x=y", "--data=z", "--params", "p.yaml", "--metrics=m.json", "--outputs", "out", "--no-autolog",
     "--no-console-metrics", "--expect", "metrics.acc > 0.9", "--", "true"],
    ["--expect=a=b", "--tag", "--name", "--", "true"],
])
def test_fast_path_builds_what_click_builds(args: list[str]) -> None:
    fast = parse_record_args(args)
    assert fast is not None
    assert vars(fast) == click_record_options(args)


@pytest.mark.parametrize("args", [
    ["list"], ["--help", "--", "true"], ["--sample-interval", "0.5", "--", "true"], ["-m"], ["--", ],
    ["--unknown", "--", "true"], ["-m", "--", "true"], ["-qm", "x", "--", "true"], ["--quiet=1", "--", "true"],
    ["-mx", "--", "true"], ["--data", "--", "true"],
])
def test_anything_unusual_is_left_to_click(args: list[str]) -> None:
    assert parse_record_args(args) is None


def test_every_record_option_of_click_is_a_known_feature_option() -> None:
    """The click group's record options are exactly the declared ones (the values are compared above)."""
    names = {param.name for param in app.cli.params if isinstance(param, click.Option) and param.expose_value}
    # (--color, --no-pager, -p: output options for the subcommand that follows, not record options)
    names -= {"message", "name", "tags", "quiet", "version", "help"}
    assert names == set(FEATURE_DEFAULTS)


def test_no_cli_module_imports_the_assembled_application() -> None:
    """Subcommands register on gitrun.cli.group: importing gitrun.cli.app from them is an import cycle."""
    import ast
    from pathlib import Path

    package = Path(app.__file__).parent
    for path in package.glob("*.py"):
        if path.name in {"__init__.py", "app.py"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]
                assert "gitrun.cli.app" not in names, f"{path.name}:{node.lineno} imports gitrun.cli.app"


def test_the_fast_path_never_imports_click() -> None:
    """Start-up of every ``git run -- CMD``: the fast path must not pull click in."""
    import subprocess
    import sys

    code = ("import sys; from gitrun.cli.fastpath import parse_record_args; "
            "parse_record_args(['--data', 'x', '--', 'true']); print('click' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
