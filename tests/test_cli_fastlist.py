"""The warm fast path of a plain ``git run list`` (gitrun/cli/fastlist.py) against the normal path.

Each state is listed by the normal path (GITRUN_NO_FAST_LIST=1: it leaves the stamp) and then by a
plain ``git run list``; stdout, stderr and the exit code must be the same bytes, and the test asserts
whether the fast path answered (a spy on ``fast_list``): after a change it must not (its stamp is
stale), once the normal path listed the new state it must. The clock of the table's age column is
fixed, and the files whose stat is part of the key are aged past the racy window, so the fast path
is not refused for a reason the test did not choose.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

import gitrun.cli.fastlist as fastlist
import gitrun.commands.list_table as list_table
from tests.conftest import git, gitrun_in_process
from tests.run_fixtures import record

NORMAL = {"GITRUN_NO_FAST_LIST": "1"}


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """What each call of the fast path answered (None: it fell back), in order."""
    seen: list[int | None] = []
    real = fastlist.fast_list

    def spy() -> int | None:
        seen.append(real())
        return seen[-1]

    monkeypatch.setattr(fastlist, "fast_list", spy)
    now = time.time() + 3600
    monkeypatch.setattr(list_table, "time", types.SimpleNamespace(time=lambda: now))
    return seen


def settle(repo: Path) -> None:
    """Age what the key stats (refs storage, config and project files) past the racy window, if it just changed."""
    old = time.time() - 30
    common = Path(git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir").strip())
    home = Path(os.environ["HOME"])
    for path in (common / "packed-refs", common / "refs" / "experiments", common / "config",
                 home / ".gitconfig", Path(os.environ["XDG_CONFIG_HOME"]) / "git" / "config",
                 repo / "pyproject.toml", repo / ".gitrun.toml"):
        if path.exists() and path.stat().st_mtime > old + 20:  # only what just changed: the rest keeps its key
            os.utime(path, (old, old))


def listed(cwd: Path, answers: list[int | None], fast_expected: bool) -> str:
    """A plain listing by the fast path, compared with the normal path's answer right after."""
    settle(cwd)
    before = len(answers)
    first = gitrun_in_process(cwd, "list")
    assert (answers[before] is not None) == fast_expected, (answers, first.stdout, first.stderr)
    normal = gitrun_in_process(cwd, "list", env=NORMAL)
    assert (first.stdout, first.stderr, first.returncode) == (normal.stdout, normal.stderr, normal.returncode)
    return first.stdout


def warm(cwd: Path, answers: list[int | None]) -> str:
    """The normal path lists (leaving the stamp), then the fast path must answer, byte for byte the same."""
    settle(cwd)
    normal = gitrun_in_process(cwd, "list", env=NORMAL)
    before = len(answers)
    fast = gitrun_in_process(cwd, "list")
    assert answers[before] == normal.returncode == 0, (answers, fast.stdout, fast.stderr)
    assert (fast.stdout, fast.stderr, fast.returncode) == (normal.stdout, normal.stderr, normal.returncode)
    return fast.stdout


def run_ids(repo: Path) -> list[str]:
    return git(repo, "for-each-ref", "--format=%(refname:lstrip=2)", "refs/experiments").split()


def test_fast_path_matches_the_normal_path_through_changes(repo: Path, answers: list[int | None]) -> None:
    assert "no runs yet" in warm(repo, answers)  # an empty repository's stamp is a table too
    first = record(repo, "--name", "first", "-m", "x" * 70, "--", "python", "-c", "pass")
    out = listed(repo, answers, fast_expected=False)  # a new run: stale
    assert "first" in out and "…" in out
    record(repo, "--name", "second", "--", "python", "-c", "raise SystemExit(2)", check=False)
    listed(repo, answers, fast_expected=False)
    assert "second" in warm(repo, answers)
    gitrun_in_process(repo, "tag", first, "best")  # the notes moved
    assert "[best]" in listed(repo, answers, fast_expected=False)
    warm(repo, answers)
    # A note changed behind gitrun's back, as a fetch of a teammate's tag or rename would.
    snapshot = git(repo, "rev-parse", f"refs/experiments/{first}^").strip()
    note = git(repo, "notes", "--ref", "gitrun", "show", snapshot).replace('name = "first"', 'name = "renamed"')
    (repo.parent / "note.toml").write_text(note)
    git(repo, "notes", "--ref", "gitrun", "add", "-f", "-F", str(repo.parent / "note.toml"), snapshot)
    assert "renamed" in listed(repo, answers, fast_expected=False)
    warm(repo, answers)
    git(repo, "pack-refs", "--all")
    listed(repo, answers, fast_expected=False)
    assert "renamed" in warm(repo, answers)  # every ref from packed-refs now
    git(repo, "update-ref", "-d", f"refs/experiments/{first}")
    assert "renamed" not in listed(repo, answers, fast_expected=False)
    warm(repo, answers)
    # A commit moves HEAD (reachability is keyed by it); the runs stay reachable.
    git(repo, "commit", "-q", "--allow-empty", "-m", "more")
    listed(repo, answers, fast_expected=False)
    assert "second" in warm(repo, answers)
    # Another branch checked out, where no run is reachable.
    git(repo, "checkout", "-q", "--orphan", "lonely")
    git(repo, "commit", "-q", "--allow-empty", "-m", "lonely")
    assert "no runs match (runs on commits reachable from HEAD (1 hidden" in listed(repo, answers, False)
    assert "1 hidden" in warm(repo, answers)
    git(repo, "checkout", "-q", "main")
    listed(repo, answers, fast_expected=False)
    warm(repo, answers)


def test_listing_an_unchanged_state_again_does_not_rewrite_the_stamp(repo: Path, answers: list[int | None]) -> None:
    record(repo, "--name", "first", "--", "python", "-c", "pass")
    warm(repo, answers)
    common = Path(git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir").strip())
    files = [path for path in (common / "gitrun" / "index.sqlite", common / "gitrun" / "index.sqlite-wal")
             if path.exists()]
    old = time.time() - 30
    for path in files:
        os.utime(path, (old, old))
    before = [path.stat().st_mtime_ns for path in files]
    for _ in range(2):  # the normal path (a terminal's listing) stamps the same state each time
        assert "first" in gitrun_in_process(repo, "list", env=NORMAL).stdout
    # No write transaction for a stamp already stored: neither the database nor its write-ahead log changed.
    assert [path.stat().st_mtime_ns for path in files] == before
    assert "first" in warm(repo, answers)  # and the stamp still serves the fast path


def test_a_missing_or_corrupt_index_falls_back(repo: Path, answers: list[int | None]) -> None:
    record(repo, "--name", "only", "--", "python", "-c", "pass")
    warm(repo, answers)
    index = repo / ".git" / "gitrun" / "index.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    index.write_bytes(b"not a database" * 100)
    assert "only" in listed(repo, answers, fast_expected=False)
    warm(repo, answers)
    index.unlink()
    assert "only" in listed(repo, answers, fast_expected=False)
    warm(repo, answers)


def test_linked_worktree_and_subfolder(repo: Path, answers: list[int | None]) -> None:
    record(repo, "--name", "on-main", "--", "python", "-c", "pass")
    git(repo, "worktree", "add", "-q", "--detach", str(repo.parent / "linked"), "HEAD")
    linked = repo.parent / "linked"
    listed(linked, answers, fast_expected=False)
    out = warm(linked, answers)
    assert "on-main" in out and "(detached)" not in out.splitlines()[0]
    (repo / "sub").mkdir()
    assert "on-main" in listed(repo / "sub", answers, fast_expected=False)  # the stamp is the worktree's
    warm(repo / "sub", answers)


def test_settings_and_environment_that_change_the_output_fall_back(repo: Path, answers: list[int | None]) -> None:
    record(repo, "--name", "coloured", "--", "python", "-c", "pass")
    warm(repo, answers)
    git(repo, "config", "color.ui", "always")  # colour even through a pipe
    out = listed(repo, answers, fast_expected=False)
    assert "\x1b[32m" in out
    listed(repo, answers, fast_expected=False)  # never stamped while colour is on
    git(repo, "config", "--unset", "color.ui")
    warm(repo, answers)
    (repo / ".gitrun.toml").write_text("color = 'sometimes'\n")  # an error now
    settle(repo)
    assert gitrun_in_process(repo, "list").returncode != 0
    assert answers[-1] is None
    (repo / ".gitrun.toml").unlink()
    warm(repo, answers)
    for name, value in (("COLUMNS", "50"), ("NO_COLOR", "1")):  # consulted identically by both paths
        os.environ[name] = value
        try:
            warm(repo, answers)
        finally:
            del os.environ[name]
    os.environ["GIT_DIR"] = str(repo / ".git")
    try:
        listed(repo, answers, fast_expected=False)
    finally:
        del os.environ["GIT_DIR"]


def test_outside_a_repository_falls_back(tmp_path: Path, answers: list[int | None]) -> None:
    outside = tmp_path / "nowhere"
    outside.mkdir()
    proc = gitrun_in_process(outside, "list")
    assert answers == [None] and proc.returncode != 0 and "not a git repository" in proc.stderr


def test_the_warm_listing_imports_neither_click_nor_pygit2(repo: Path, answers: list[int | None]) -> None:
    record(repo, "--name", "light", "--", "python", "-c", "pass")
    expected = warm(repo, answers)
    probe = ("import sys\nfrom gitrun.cli import main\ntry:\n    main(['list'])\nfinally:\n"
             "    sys.__stderr__.write('loaded: ' + ' '.join(m for m in ('click', 'pygit2') if m in sys.modules))\n"
             "    sys.__stderr__.flush()\n")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr == "loaded: ", proc.stderr
    assert proc.stdout.splitlines()[0].split() == expected.splitlines()[0].split() and "light" in proc.stdout
    assert proc.stdout.splitlines()[-1] == expected.splitlines()[-1]
    heavy = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True, check=False,
                           env={**os.environ, "GITRUN_NO_FAST_LIST": "1"})
    assert heavy.stderr == "loaded: click pygit2"  # what the probe sees when the normal path runs
