"""Outputs: files a run created or changed, found, hashed, stored when small, restorable."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from gitrun.capture.hashing import hash_bytes
from tests.conftest import git, gitrun

PY = sys.executable

MAKE_OUTPUTS = """\
    import os
    os.makedirs("models", exist_ok=True)
    os.makedirs("results", exist_ok=True)
    open("models/model.bin", "wb").write(b"weights" * 10)
    open("models/big.ckpt", "wb").write(os.urandom(4096))
    open("results/report.txt", "w").write("accuracy 0.9\\n")
    with open("README.md", "a") as f:
        f.write("changed by the run\\n")
"""


def last_run(repo: Path) -> dict[str, Any]:
    run_id = json.loads(gitrun(repo, "list", "--json").stdout)[0]["id"]
    return dict(json.loads(gitrun(repo, "show", run_id, "--json").stdout))


def setup(repo: Path) -> None:
    (repo / "make.py").write_text(textwrap.dedent(MAKE_OUTPUTS))
    (repo / ".gitignore").write_text("models/\n")
    (repo / "untouched.txt").write_text("same\n")
    (repo / ".gitrun.toml").write_text('output_store_limit = "1KiB"\n')
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "setup")


def test_created_and_changed_files_are_recorded(repo: Path) -> None:
    setup(repo)
    gitrun(repo, "-q", "--no-console-metrics", "--", PY, "make.py")
    run = last_run(repo)
    outputs = {item["path"]: item for item in run["outputs"]}
    assert set(outputs) == {"models/model.bin", "models/big.ckpt", "results/report.txt", "README.md"}
    model = outputs["models/model.bin"]
    assert model["size"] == 70 and model["stored"] is True
    assert model["hash"] == hash_bytes(b"weights" * 10)
    big = outputs["models/big.ckpt"]  # over the 1 KiB limit: hash only
    assert big["stored"] is False and big["size"] == 4096
    assert big["hash"] == hash_bytes((repo / "models/big.ckpt").read_bytes())
    ref = f"refs/experiments/{run['id']}"
    assert git(repo, "show", f"{ref}:outputs/models/model.bin") == "weights" * 10
    assert git(repo, "show", f"{ref}:outputs/results/report.txt") == "accuracy 0.9\n"
    assert "outputs/models/big.ckpt" not in git(repo, "ls-tree", "-r", "--name-only", ref)
    note = git(repo, "notes", "--ref=gitrun", "show", run["commit"])
    assert "[[outputs]]" in note and 'mtime = "' in note
    text = gitrun(repo, "show", run["id"]).stdout
    assert "models/big.ckpt" in text and "hash only" in text


def test_outputs_option_narrows_the_watch(repo: Path) -> None:
    setup(repo)
    gitrun(repo, "-q", "--outputs", "results", "--", PY, "make.py")
    assert [item["path"] for item in last_run(repo)["outputs"]] == ["results/report.txt"]


def test_checkout_output_restores_stored_files(repo: Path, tmp_path: Path) -> None:
    setup(repo)
    gitrun(repo, "-q", "--", PY, "make.py")
    run_id = last_run(repo)["id"]
    (repo / "models/model.bin").unlink()
    (repo / "results/report.txt").write_text("edited\n")
    result = gitrun(repo, "checkout-output", run_id, "models", "results", check=False)
    assert (repo / "models/model.bin").read_bytes() == b"weights" * 10
    assert (repo / "results/report.txt").read_text() == "edited\n"  # not overwritten without --force
    assert "--force" in result.stderr and "big.ckpt" in result.stderr
    gitrun(repo, "checkout-output", run_id, "results/report.txt", "--force")
    assert (repo / "results/report.txt").read_text() == "accuracy 0.9\n"
    gitrun(repo, "checkout-output", run_id, "results", "--to", str(tmp_path / "elsewhere"))
    assert (tmp_path / "elsewhere/results/report.txt").read_text() == "accuracy 0.9\n"


def test_a_run_without_outputs_has_an_empty_list(repo: Path) -> None:
    gitrun(repo, "-q", "--", "true")
    assert last_run(repo)["outputs"] == []


def test_files_given_old_times_or_rewritten_in_place_still_count(repo: Path) -> None:
    """`cp -p`, `tar x` and `os.utime` set old mtimes; a same-size rewrite keeps size and maybe mtime."""
    setup(repo)
    (repo / "data.csv").write_text("a,b\n1,2\n")
    old = (repo / "untouched.txt").stat()
    script = textwrap.dedent("""\
        import os, shutil
        shutil.copy2("untouched.txt", "copied_with_old_times.txt")
        with open("data.csv", "r+") as f:
            f.write("x")  # same size, new content
        os.utime("data.csv", ns=(0, 0))
    """)
    (repo / "touch.py").write_text(script)
    gitrun(repo, "-q", "--no-console-metrics", "--", PY, "touch.py")
    outputs = {item["path"] for item in last_run(repo)["outputs"]}
    assert {"copied_with_old_times.txt", "data.csv"} <= outputs
    assert "untouched.txt" not in outputs and "make.py" not in outputs
    assert (repo / "copied_with_old_times.txt").stat().st_mtime_ns == old.st_mtime_ns
