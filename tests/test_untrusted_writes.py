"""A pulled run never writes outside the chosen folder, into .git, or through a link (issue 9).

Every run here is forged the way a hostile teammate could push it (tests/hostile.py): trees with
``..``, ``.git`` aliases, absolute and empty names; notes whose outputs name any path at all.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitrun.model.paths import path_problem
from tests.conftest import git, gitrun, user_state
from tests.hostile import EXEC, LINK, forged_run

HOOK = (EXEC, b"#!/bin/sh\ntouch /tmp/pwned\n")

HOSTILE_TREES = {
    "git hook": {".git": {"hooks": {"pre-commit": HOOK}}},
    "upper-case .GIT": {".GIT": {"hooks": {"pre-commit": HOOK}}},
    "NTFS .git. alias": {".git.": {"config": b"[core]\n\tfsmonitor = touch pwned\n"}},
    "NTFS .git space alias": {".git ": {"config": b"x"}},
    "NTFS short name git~1": {"GIT~1": {"config": b"x"}},
    "HFS ignorable code point": {".g\u200cit": {"config": b"x"}},
    "dot-dot": {"..": {"..": {"escaped.txt": b"x"}}},
    "nested dot-dot": {"src": {"..": {"..": {"escaped.txt": b"x"}}}},
    "slash in a name": {"a": {"../../escaped.txt": b"x"}},
    "empty name": {"a": {"": b"x"}},
    "dot": {".": {"x.txt": b"x"}},
    "backslash .git": {"sub": {"x\\.git\\hooks": b"x"}},
    "link named .gitmodules": {".gitmodules": (LINK, b"/etc/passwd")},
}


def _no_escape(repo: Path) -> None:
    assert not (repo.parent / "escaped.txt").exists()
    assert not (repo.parent.parent / "escaped.txt").exists()
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()


@pytest.mark.parametrize("kind", sorted(HOSTILE_TREES))
def test_apply_refuses_a_tree_git_would_refuse_and_writes_nothing(repo: Path, kind: str) -> None:
    run = forged_run(repo, {"train.py": b"print('changed')\n", **HOSTILE_TREES[kind]})
    before = user_state(repo)
    proc = gitrun(repo, "apply", run, "--force", check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # (libgit2 cannot even parse a tree with an empty name: that is refused as malformed)
    assert proc.stderr.startswith(("git-run: error: refused to write '",
                                   "git-run: error: the tree at 'a' is malformed")), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    _no_escape(repo)
    assert user_state(repo) == before  # nothing half-written: train.py is unchanged too
    # branch refuses the same tree, naming the entry, before the branch exists
    proc = gitrun(repo, "branch", run, "forged", check=False)
    assert proc.returncode == 1 and ("refused to write" in proc.stderr or "malformed" in proc.stderr)
    assert git(repo, "branch", "--list", "forged") == ""


def test_apply_never_writes_through_a_link_the_tree_itself_holds(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    # A link "a" to a folder outside, and (a crafted tree can hold both) a folder "a" with a file.
    run = forged_run(repo, {"a": (LINK, str(outside).encode()), "b": {"x": b"y"}})
    gitrun(repo, "apply", run)  # a link itself is ordinary content, as in git
    assert os.readlink(repo / "a") == str(outside)
    run2 = forged_run(repo, {"a": {"payload.txt": b"x"}})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "link")
    proc = gitrun(repo, "apply", run2, "--force", check=False)
    # The run wants a/payload.txt; a is a link now (HEAD has it): the link is replaced, not followed.
    assert not (outside / "payload.txt").exists()
    if proc.returncode == 0:
        assert (repo / "a").is_dir() and not (repo / "a").is_symlink()


def test_apply_refuses_to_write_below_a_link_already_on_disk(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, repo / "models")  # untracked link, e.g. to a data disk
    run = forged_run(repo, {"train.py": b"print(1)\n", "README.md": b"demo\n", "models": {"x.py": b"x"}})
    proc = gitrun(repo, "apply", run, "--force", check=False)
    assert proc.returncode == 1
    assert "'models' on the way is a symbolic link" in proc.stderr
    assert not (outside / "x.py").exists()
    assert (repo / "train.py").read_text() == "print('loss: 0.5')\n"


def _outputs_run(repo: Path, paths: list[str]) -> str:
    entries = [{"path": path, "size": 1, "hash": "blake3:00", "stored": True} for path in paths]
    result = {"outputs": {"..": {"..": {"escaped.txt": b"x"}}, "ok.txt": b"fine"}}
    return forged_run(repo, {"train.py": b"x"}, doc={"outputs": entries}, result=result)


@pytest.mark.parametrize("to", [False, True])
def test_checkout_output_refuses_dot_dot_paths_even_with_to(repo: Path, tmp_path: Path, to: bool) -> None:
    run = _outputs_run(repo, ["ok.txt", "../../escaped.txt"])
    target = tmp_path / "restore" / "here"
    args = ["--to", str(target)] if to else []
    proc = gitrun(repo, "checkout-output", run, *args, check=False)
    assert proc.returncode == 1
    assert "refused to write '../../escaped.txt': '..' component" in proc.stderr
    _no_escape(repo)
    assert not (tmp_path / "restore" / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()
    assert not (repo / "ok.txt").exists() and not (target / "ok.txt").exists()  # nothing half-written


def test_checkout_output_restores_an_absolute_path_only_below_to(repo: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    entries = [{"path": "ok.txt", "size": 4, "hash": "blake3:00", "stored": True},
               {"path": str(victim / "abs.txt"), "size": 1, "hash": "blake3:00", "stored": True}]
    run = forged_run(repo, {"train.py": b"x"}, doc={"outputs": entries},
                     result={"outputs": {"ok.txt": b"fine",
                                         "_external": _nested(str(victim / "abs.txt").lstrip("/"), b"x")}})
    proc = gitrun(repo, "checkout-output", run, check=False)
    assert proc.returncode == 1
    assert "recorded outside the repository, not restored" in proc.stderr, proc.stderr + proc.stdout
    assert not (victim / "abs.txt").exists()
    assert (repo / "ok.txt").exists(), proc.stdout + proc.stderr
    assert (repo / "ok.txt").read_bytes() == b"fine"
    target = tmp_path / "chosen"
    gitrun(repo, "checkout-output", run, "--to", str(target))
    assert (target / str(victim / "abs.txt").lstrip("/")).read_bytes() == b"x"
    assert not (victim / "abs.txt").exists()


def _nested(path: str, data: bytes) -> dict[str, object]:
    head, _, rest = path.partition("/")
    return {head: _nested(rest, data) if rest else data}


def test_checkout_output_does_not_write_through_a_link_at_the_destination(repo: Path, tmp_path: Path) -> None:
    secret = tmp_path / "bashrc"
    secret.write_text("mine\n")
    os.symlink(secret, repo / "ok.txt")
    run = _outputs_run(repo, ["ok.txt"])
    gitrun(repo, "checkout-output", run, "--force")
    assert secret.read_text() == "mine\n"  # the link was replaced, its target untouched
    assert (repo / "ok.txt").read_bytes() == b"fine" and not (repo / "ok.txt").is_symlink()


@pytest.mark.parametrize("path", [
    ".git/config", ".GIT/x", ".Git./x", ".git  /x", "git~1/x", "GIT~1.", ".git::$INDEX_ALLOCATION/x",
    ".g\u200dit/x", "\ufeff.git", "a/../b", "../x", "./x", "a/./b", "a//b", "a/", "/etc/passwd", "",
    "a\\..\\b", "a\\.git\\x", "C:/x", "a\0b",
])
def test_path_rules_refuse_what_git_refuses(path: str) -> None:
    assert path_problem(path) is not None


@pytest.mark.parametrize("path", [
    "train.py", "a/b/c.txt", ".gitignore", ".github/workflows/ci.yml", ".gitx/y", "git~2/x", "..a", "a..",
    "...", ".git-foo", "dir.git/x", "new\nline.txt", "spaces in name", "ünïcode/ß.txt", "git/x",
])
def test_path_rules_accept_ordinary_paths(path: str) -> None:
    assert path_problem(path) is None


def test_a_link_named_gitmodules_is_refused_but_a_file_is_fine() -> None:
    assert path_problem(".gitmodules", is_link=True) is not None
    assert path_problem("sub/.GITATTRIBUTES", is_link=True) is not None
    assert path_problem(".gitmodules") is None
