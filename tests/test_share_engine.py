"""The sharing engine's cheap paths: the tombstone test and fetches without auto-maintenance."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.generate import TEMPLATE
from gitrun.store.sharing import has_tombstone_key
from gitrun.store.sharing.tombstones import id_like_name
from tests.conftest import git, gitrun


def test_tombstone_key_is_the_top_level_key_not_the_word() -> None:
    real = TEMPLATE.read_bytes()
    assert b"deleted = []" in real  # every real note: the [git] table's list of deleted files
    assert not has_tombstone_key(real)
    assert has_tombstone_key(b'schema = 1\nid = "x"\ndeleted = true\ndeleted_by = "ada"\n')
    assert has_tombstone_key(b'id = "x"\n"deleted" = true\n')
    assert has_tombstone_key(b'deleted = true\n')  # the first line
    assert has_tombstone_key(b'x = "deleted"\n  deleted = true\n')  # after an earlier mention
    assert not has_tombstone_key(b'id = "x"\ndeleted = false\n')
    assert not has_tombstone_key(b'id = "x"\nundeleted = true\n')


def test_id_like_names_are_found_on_any_line() -> None:
    assert id_like_name(b'name = "01abcdef"\nid = "x"\n') == "01abcdef"
    assert id_like_name(b'schema = 1\nname = "01abcdef"\n') == "01abcdef"
    assert id_like_name(b'schema = 1\nname = "swift-otter"\n') is None
    assert id_like_name(b'schema = 1\nnickname = "01abcdef"\n') is None


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_pull_does_not_start_an_auto_gc(repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    gitrun(repo, "-q", "--", "true")
    gitrun(repo, "push")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    # Any loose object makes a plain fetch's `gc --auto` pack everything (gc.auto = 1).
    git(clone, "config", "gc.auto", "1")
    git(clone, "config", "gc.autoDetach", "false")
    git(clone, "config", "maintenance.auto", "true")
    number = 0
    while len(list((clone / ".git" / "objects" / "17").glob("*"))) < 3:  # gc --auto samples objects/17
        (clone / "loose.txt").write_text(f"loose {number}\n")
        git(clone, "hash-object", "-w", "loose.txt")
        number += 1
    loose_before = int(git(clone, "count-objects").split()[0])
    gitrun(clone, "pull")
    assert int(git(clone, "count-objects").split()[0]) >= loose_before
    assert len(git(clone, "for-each-ref", "refs/experiments").splitlines()) == 1


def test_pull_flags_a_run_named_like_an_id_prefix(repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    gitrun(repo, "-q", "--", "true")
    ref = git(repo, "for-each-ref", "--format=%(objectname)", "refs/experiments").strip()
    snapshot = git(repo, "rev-parse", f"{ref}^").strip()
    note = git(repo, "notes", "--ref=gitrun", "show", snapshot)
    forged = "\n".join('name = "01abcdef"' if line.startswith("name = ") else line for line in note.splitlines())
    (tmp_path / "forged.toml").write_text(forged + "\n")
    git(repo, "notes", "--ref=gitrun", "add", "-f", "-F", str(tmp_path / "forged.toml"), snapshot)
    gitrun(repo, "push")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    proc = gitrun(clone, "pull")
    assert "named '01abcdef', which looks like a run id prefix" in proc.stderr
