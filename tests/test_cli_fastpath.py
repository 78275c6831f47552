"""The click-free parser of plain recordings must agree with the click application."""

from __future__ import annotations

from typing import Any

import click
import pytest

from gitrun.cli import app
from gitrun.cli.fastpath import parse_record_args
from gitrun.commands.record import FEATURE_DEFAULTS


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
])
def test_fast_path_builds_what_click_builds(args: list[str]) -> None:
    fast = parse_record_args(args)
    assert fast is not None
    assert vars(fast) == click_record_options(args)


@pytest.mark.parametrize("args", [
    ["list"], ["--help", "--", "true"], ["--data", "x=y", "--", "true"], ["-m"], ["--", ],
    ["--unknown", "--", "true"], ["-m", "--", "true"], ["-qm", "x", "--", "true"],
])
def test_anything_unusual_is_left_to_click(args: list[str]) -> None:
    assert parse_record_args(args) is None


def test_every_record_option_of_click_is_a_known_feature_option() -> None:
    """A new option added to the group must be added to FEATURE_DEFAULTS (the values are compared above)."""
    names = {param.name for param in app.cli.params if isinstance(param, click.Option)}
    names -= {"message", "name", "tags", "quiet", "version", "help"}
    assert names == set(FEATURE_DEFAULTS)
