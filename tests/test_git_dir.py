"""GIT_DIR, GIT_WORK_TREE and ``git --git-dir=... --work-tree=... run`` are honoured as git honours them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import git, gitrun


def _separate(tmp_path: Path) -> tuple[Path, Path]:
    """A repository whose git dir lives apart from its working tree (as with --separate-git-dir)."""
    work = tmp_path / "work"
    gitdir = tmp_path / "store.git"
    work.mkdir()
    git(tmp_path, "init", "-q", "-b", "main", f"--separate-git-dir={gitdir}", str(work))
    (work / ".git").unlink()  # no pointer file: only the environment says where the repository is
    (work / "train.py").write_text("print('loss: 0.5')\n")
    env = {"GIT_DIR": str(gitdir), "GIT_WORK_TREE": str(work)}
    subprocess.run(["git", "add", "."], cwd=work, env={**os.environ, **env}, check=True)
    subprocess.run(["git", "commit", "-qm", "initial"], cwd=work, env={**os.environ, **env}, check=True)
    return work, gitdir


def test_git_dir_and_work_tree_variables(tmp_path: Path) -> None:
    work, gitdir = _separate(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"GIT_DIR": os.path.relpath(gitdir, work), "GIT_WORK_TREE": "."}
    proc = gitrun(work, "-m", "separate", "--", sys.executable, "train.py", env=env)
    assert "loss: 0.5" in proc.stdout
    listing = gitrun(work, "list", "--json", env=env).stdout
    assert '"message": "separate"' in listing
    # without the variables this folder is no repository at all
    proc = gitrun(work, "list", check=False)
    assert proc.returncode == 128 and "not a git repository" in proc.stderr
    assert "refs/experiments/" in git(tmp_path, f"--git-dir={gitdir}", "for-each-ref")


def test_git_dash_dash_git_dir_run(tmp_path: Path) -> None:
    work, gitdir = _separate(tmp_path)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["git", f"--git-dir={gitdir}", f"--work-tree={work}", "run", "--", sys.executable,
                           "train.py"], cwd=work, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(["git", f"--git-dir={gitdir}", f"--work-tree={work}", "run", "list"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "succeeded" in proc.stdout, proc.stderr


def test_a_git_dir_that_is_no_repository_is_one_line(tmp_path: Path) -> None:
    proc = gitrun(tmp_path, "list", check=False, env={"GIT_DIR": str(tmp_path / "nothing")})
    assert proc.returncode == 128 and proc.stderr.startswith("git-run: error: not a git repository: GIT_DIR=")
