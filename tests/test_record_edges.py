"""Bad input and unusual repositories: each gets one clear line, or works."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git, gitrun, user_state


def runs_of(repo: Path) -> list[dict]:
    return json.loads(gitrun(repo, "list", "--json").stdout)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_outside_a_repository(tmp_path: Path) -> None:
    proc = gitrun(tmp_path, "--", "true", check=False)
    assert_one_line_error(proc, "not a git repository")
    assert proc.returncode == 128


def test_in_a_bare_repository(tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    proc = gitrun(bare, "--", "true", check=False)
    assert_one_line_error(proc, "bare repository")


def test_missing_command(repo: Path) -> None:
    proc = gitrun(repo, "--", check=False)
    assert_one_line_error(proc, "no command")
    assert proc.returncode == 2
    assert runs_of(repo) == []


def test_command_without_separator_is_explained(repo: Path) -> None:
    proc = gitrun(repo, "python", "train.py", check=False)
    assert proc.returncode == 2
    assert "git run -- python train.py" in proc.stderr
    assert runs_of(repo) == []


def test_unknown_and_ambiguous_run_references(repo: Path) -> None:
    gitrun(repo, "-q", "--name", "alpha", "--", "true")
    gitrun(repo, "-q", "--name", "beta", "--", "true")
    assert_one_line_error(gitrun(repo, "show", "nope", check=False), "no run matches 'nope'")
    first_chars = runs_of(repo)[0]["id"][:4]
    ambiguous = gitrun(repo, "show", first_chars, check=False)
    assert_one_line_error(ambiguous, "matches 2 runs")
    assert json.loads(gitrun(repo, "show", "alpha", "--json").stdout)["name"] == "alpha"


def test_name_already_used_is_refused(repo: Path) -> None:
    gitrun(repo, "-q", "--name", "alpha", "--", "true")
    proc = gitrun(repo, "--name", "alpha", "--", "true", check=False)
    assert_one_line_error(proc, "already exists")
    assert len(runs_of(repo)) == 1


def test_unborn_branch(tmp_path: Path) -> None:
    repo = tmp_path / "fresh"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    (repo / "train.py").write_text("print(1)\n")
    before = user_state(repo)
    gitrun(repo, "-q", "--", "true")
    assert user_state(repo) == before
    assert not (repo / ".git" / "index").exists()
    run = runs_of(repo)[0]
    assert run["git"]["base_commit"] == "" and run["git"]["unborn"] is True
    assert git(repo, "rev-list", "--parents", "-n1", run["commit"]).split() == [run["commit"]]
    assert "train.py" in git(repo, "ls-tree", "--name-only", run["commit"])


def test_detached_head(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "--detach")
    gitrun(repo, "-q", "--", "true")
    run = runs_of(repo)[0]
    assert run["git"]["detached"] is True and run["git"]["branch"] == ""
    assert run["git"]["base_commit"] == head
    assert git(repo, "rev-parse", "HEAD").strip() == head


def test_shallow_clone(repo: Path, tmp_path: Path) -> None:
    (repo / "train.py").write_text("print(2)\n")
    git(repo, "commit", "-q", "-am", "second")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    gitrun(clone, "-q", "--", "true")
    run = runs_of(clone)[0]
    assert run["git"]["shallow"] is True
    assert run["git"]["upstream"] == "origin/main"


def test_unreadable_file_is_reported_not_fatal(repo: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can read any file")
    secret = repo / "locked.txt"
    secret.write_text("x\n")
    secret.chmod(0)
    proc = gitrun(repo, "--", "true")
    assert "locked.txt" in proc.stderr
    assert runs_of(repo)[0]["status"] == "succeeded"


def test_unreadable_file_as_root_via_fifo(repo: Path) -> None:
    """A path that cannot be hashed (a FIFO) must not hang or abort the run."""
    os.mkfifo(repo / "pipe")
    gitrun(repo, "-q", "--", "true", timeout=60)
    assert runs_of(repo)[0]["status"] == "succeeded"


def test_submodule_commit_and_dirtiness_are_recorded(repo: Path, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    git(tmp_path, "init", "-q", "-b", "main", str(lib))
    (lib / "lib.py").write_text("v = 1\n")
    git(lib, "add", ".")
    git(lib, "commit", "-q", "-m", "lib")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "vendor/lib")
    git(repo, "commit", "-q", "-m", "add submodule")
    (repo / "vendor" / "lib" / "lib.py").write_text("v = 2  # edited inside the submodule\n")
    before = user_state(repo)
    gitrun(repo, "-q", "--", "true")
    assert user_state(repo) == before
    run = runs_of(repo)[0]
    sub = run["git"]["submodules"][0]
    assert sub["path"] == "vendor/lib" and sub["dirty"] is True
    assert sub["commit"] == git(lib, "rev-parse", "HEAD").strip()
    assert git(repo, "ls-tree", run["commit"], "vendor/lib").split()[:3] == ["160000", "commit", sub["commit"]]


def test_git_lfs_pointer_files_are_stored_as_pointers(repo: Path) -> None:
    pointer = ("version https://git-lfs.github.com/spec/v1\n"
               "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n")
    (repo / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    (repo / "weights.bin").write_text(pointer)
    gitrun(repo, "-q", "--", "true")
    run = runs_of(repo)[0]
    assert git(repo, "show", f"{run['commit']}:weights.bin") == pointer


def test_python_m_gitrun_and_console_scripts_agree(repo: Path) -> None:
    import shutil
    import sys

    bindir = Path(sys.executable).parent
    for script in ("git-run", "gitrun"):
        exe = shutil.which(script, path=str(bindir))
        assert exe, f"{script} is not installed next to {sys.executable}"
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
        assert "git-run" in proc.stdout
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    proc = subprocess.run(["git", "run", "-q", "--", "true"], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(runs_of(repo)) == 1


def test_lfs_tracked_file_without_git_lfs_stays_out_of_the_object_store(repo: Path) -> None:
    if subprocess.run(["git", "lfs", "version"], capture_output=True).returncode == 0:
        pytest.skip("git-lfs is installed: its clean filter stores the pointer")
    content = b"\x00weights" * 1000
    (repo / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    (repo / "model.bin").write_bytes(content)
    proc = gitrun(repo, "--", "true")
    assert "model.bin" in proc.stderr and "git-lfs" in proc.stderr
    run = runs_of(repo)[0]
    assert "model.bin" not in git(repo, "ls-tree", "-r", "--name-only", run["commit"])
    blob = subprocess.run(["git", "hash-object", "--no-filters", "--stdin"], cwd=repo, input=content,
                          capture_output=True, check=True).stdout.decode().strip()
    assert subprocess.run(["git", "cat-file", "-e", blob], cwd=repo).returncode != 0
