"""`git run --help` is `git help run`, i.e. `man git-run`: the page must exist, be installed, be current."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from gitrun.cli.app import cli
from gitrun.cli.manpage import render

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "man" / "git-run.1"
needs_man = pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")


def test_committed_man_page_is_generated_from_the_current_help() -> None:
    assert PAGE.read_text() == render(cli), "man/git-run.1 is out of date: run `make man` and commit it"


def test_pip_install_puts_the_page_where_man_finds_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["data-files"]["share/man/man1"] == ["man/git-run.1"]


def git_run_help(prefix: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("MANPATH", "GIT_EXEC_PATH")}
    env.update(PATH=f"{prefix / 'bin'}:/usr/local/bin:/usr/bin:/bin", MANPAGER="cat", PAGER="cat",
               MANWIDTH="80", MANOPT="")
    return subprocess.run(["git", "run", "--help"], capture_output=True, text=True, env=env, timeout=60)


@needs_man
def test_git_run_help_shows_the_manual(tmp_path: Path) -> None:
    # The layout `pip install` makes under a prefix: bin/git-run and share/man/man1/git-run.1.
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "share" / "man" / "man1").mkdir(parents=True)
    shutil.copy(PAGE, prefix / "share" / "man" / "man1" / "git-run.1")
    shim = prefix / "bin" / "git-run"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gitrun "$@"\n')
    shim.chmod(0o755)
    result = git_run_help(prefix)
    assert result.returncode == 0, result.stderr
    assert "No manual entry" not in result.stdout + result.stderr
    assert "git-run - Record and explore experiment runs" in result.stdout
    assert "git run check" in result.stdout and "--where" in result.stdout


@needs_man
@pytest.mark.slow
def test_a_real_pip_install_ships_the_man_page(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    # --ignore-installed: never uninstall the gitrun of the environment running the tests
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed",
                              "--prefix", str(prefix), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    assert "Deprecat" not in install.stderr  # the project's own packaging warns about nothing
    assert (prefix / "share" / "man" / "man1" / "git-run.1").read_text() == PAGE.read_text()
    result = git_run_help(prefix)
    assert result.returncode == 0 and "git-run - Record and explore" in result.stdout, result.stderr
