"""Real git repositories in temporary folders, with an isolated, fixed git identity.

Every test gets a fresh HOME and no system config, so the user's own git configuration can
neither help nor break a test.
"""

from __future__ import annotations

import gc
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

IDENTITY = {
    "GIT_AUTHOR_NAME": "Ada Tester",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Tester",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch, tmp_path_factory.mktemp("home"))


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Point HOME at ``home`` with a fixed identity and no inherited git or gitrun variables."""
    home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    # COLUMNS/LINES: pytest-xdist workers inherit COLUMNS=80; output fitting is tested with it set explicitly.
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GITRUN_RUN_ID", "GITRUN_SPOOL", "COLUMNS", "LINES"):
        monkeypatch.delenv(key, raising=False)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[user]\n\tname = Ada Tester\n"
                                     "\temail = ada@example.com\n")


def git(cwd: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


# Commands that only read and print, or only change a run's metadata, run in this process: a
# subprocess would add ~0.3 s of start-up (more on a loaded machine) and test nothing more.
# Recordings, commands that prompt, start an editor or pager, read stdin or touch the working tree
# still get a real process (and every command does with GITRUN_TEST_SUBPROCESS=1).
IN_PROCESS_COMMANDS = frozenset({"list", "show", "metrics", "diff", "query", "report", "tag", "untag", "baseline"})


def runs_in_process(args: tuple[str, ...], env: dict[str, str] | None) -> bool:
    if os.environ.get("GITRUN_TEST_SUBPROCESS"):  # run everything as a process, e.g. to compare both ways
        return False
    return (bool(args) and args[0] in IN_PROCESS_COMMANDS and "--" not in args and "--code" not in args
            and "GITRUN_DEBUG" not in (env or {}))  # with it, main() raises where a process prints


def gitrun_in_process(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``gitrun.cli.main`` called here, with ``cwd`` as the working directory, ``env`` added to the
    environment for the call, and its output captured."""
    from gitrun.cli import main

    saved_env = dict(os.environ)
    os.environ.update(env or {})
    out, err = io.BytesIO(), io.BytesIO()
    streams = (io.TextIOWrapper(out, encoding="utf-8", write_through=True),
               io.TextIOWrapper(err, encoding="utf-8", write_through=True))
    saved = (sys.stdout, sys.stderr)
    previous = os.getcwd()
    code: int = 0
    os.chdir(cwd)
    sys.stdout, sys.stderr = streams
    try:
        main(list(args))
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        for stream in streams:
            stream.flush()
        sys.stdout, sys.stderr = saved
        os.chdir(previous)
        os.environ.clear()
        os.environ.update(saved_env)
        gc.enable()  # main() turns collection off while it imports
    text = [data.getvalue().decode("utf-8", "replace").replace("\r\n", "\n") for data in (out, err)]
    return subprocess.CompletedProcess(["git-run", *args], code, text[0], text[1])


def gitrun(cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real command line as a user would: in a subprocess, or in-process for read-only commands."""
    if runs_in_process(args, env):
        proc = gitrun_in_process(cwd, *args, env=env)
        if check and proc.returncode != 0:
            raise AssertionError(f"git run {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "gitrun", *args], cwd=cwd, capture_output=True, text=True,
                          env=full_env, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git run {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    """A repository with one commit on main."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "train.py").write_text("print('loss: 0.5')\n")
    (path / "README.md").write_text("demo\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "initial")
    yield path


def user_state(path: Path) -> dict[str, object]:
    """Everything gitrun must leave byte-identical: index, HEAD, refs, stash, status, files."""
    gitdir = path / ".git"
    index = gitdir / "index"
    files = {}
    for file in sorted(path.rglob("*")):
        if ".git" in file.relative_to(path).parts or not file.is_file() or file.is_symlink():
            continue
        files[str(file.relative_to(path))] = file.read_bytes()
    return {
        "index": index.read_bytes() if index.exists() else None,
        "HEAD": (gitdir / "HEAD").read_text(),
        "refs": git(path, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags",
                    "refs/stash"),
        "status": git(path, "--no-optional-locks", "status", "--porcelain=v1", "-uall"),
        "files": files,
    }
