"""``git run SUBCOMMAND`` loads only the module that registers SUBCOMMAND (start-up time of reads)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gitrun.cli import app
from gitrun.cli.lazy import SUBCOMMAND_MODULES, WHOLE_APPLICATION


def test_each_listed_subcommand_is_registered_by_its_listed_module() -> None:
    """A stale entry would make ``git run NAME`` fail with "unknown command"; an unlisted name loads all."""
    for name, module in SUBCOMMAND_MODULES.items():
        command = app.cli.commands.get(name)
        assert command is not None, f"{name} is not a subcommand any more"
        assert command.callback is not None
        assert command.callback.__module__ == f"gitrun.cli.{module}", name


def test_every_subcommand_is_listed() -> None:
    """An unlisted subcommand still works (the whole application is loaded) but pays its start-up."""
    missing = set(app.cli.commands) - set(SUBCOMMAND_MODULES) - WHOLE_APPLICATION
    assert not missing, f"add {sorted(missing)} to gitrun.cli.lazy.SUBCOMMAND_MODULES"


def _loaded_after(args: list[str]) -> list[str]:
    code = ("import sys; from gitrun.cli.lazy import load_subcommands; from gitrun.cli.group import cli; "
            f"load_subcommands({args!r}); "
            "print(sorted(m for m in sys.modules if m.startswith('gitrun.cli.'))); print(sorted(cli.commands))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def test_a_reading_command_loads_only_its_module() -> None:
    modules, commands = _loaded_after(["show", "abc"])
    assert "gitrun.cli.runs" in modules
    assert "gitrun.cli.app" not in modules and "gitrun.cli.queue" not in modules
    assert "'show'" in commands and "'push'" not in commands


def test_help_and_unknown_names_load_the_whole_application() -> None:
    for args in (["--help"], ["nonsense"], []):
        modules, commands = _loaded_after(args)
        assert "gitrun.cli.app" in modules, args
        assert "'push'" in commands and "'list'" in commands


HEAVY_FOR_READS = ("gitrun.cli.app", "gitrun.runner.finalise", "gitrun.model.secrets", "gitrun.model.reproduce",
                   "concurrent.futures", "tabulate")


def test_list_imports_nothing_it_does_not_need(repo: Path) -> None:
    """Start-up is most of what ``git run list`` costs at 10,000 runs: these stay out of it."""
    from tests.conftest import gitrun

    gitrun(repo, "--", "true")
    code = ("import sys\nfrom gitrun.cli import main\ntry:\n    main(['list'])\nexcept SystemExit:\n    pass\n"
            f"print([m for m in {HEAVY_FOR_READS!r} if m in sys.modules], file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True)
    assert "succeeded" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def test_the_man_page_command_documents_every_subcommand(tmp_path: Path) -> None:
    """``make man`` runs ``git-run manpage``: loading only its own module would document only itself."""
    from gitrun.cli.manpage import render

    proc = subprocess.run([sys.executable, "-m", "gitrun", "manpage"], cwd=tmp_path, capture_output=True, text=True,
                          check=True)
    assert proc.stdout.rstrip("\n") == render(app.cli).rstrip("\n")
