"""Helpers for tests of comparing and organising runs: record real runs, then give them the
parameters, metrics, data and packages a test needs through gitrun's own store API (the same
``RunStore.update_doc``/``save_result`` the recorder uses), so tests don't depend on what a given
machine's Python prints or has installed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gitrun.model.captured import deep_update
from gitrun.store.git import open_repository
from gitrun.store.runs import RunStore
from gitrun.store.trees import TreeContent, read_tree_files
from tests.conftest import gitrun

TRAIN = """import sys
lr = float(sys.argv[1]) if len(sys.argv) > 1 else 0.1
for step in range(5):
    print(f"loss: {1 / (1 + step * lr):.4f}")
"""


def record(repo: Path, *args: str, check: bool = True) -> str:
    """Record a run with the real CLI; return its id."""
    proc = gitrun(repo, *args, check=check)
    match = re.search(r"run ([0-9a-z]{26}) \(", proc.stderr)
    assert match, proc.stderr
    return match.group(1)


def store(repo: Path) -> RunStore:
    repository, paths = open_repository(repo)
    return RunStore(repository, paths)



def set_doc(repo: Path, run_id: str, **fields: Any) -> None:
    """Merge ``fields`` into the run's metadata (dicts merge, everything else replaces)."""
    runs = store(repo)
    run = runs.get(run_id)

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        deep_update(doc, json.loads(json.dumps(fields)))
        return doc

    runs.update_doc(run, change, "test: set fields")


def set_series(repo: Path, run_id: str, series: dict[str, list[float]]) -> None:
    """Store metric series as ``metrics/<name>.tsv`` in the run's result tree (keeping its other files)."""
    runs = store(repo)
    run = runs.get(run_id)
    commit = runs.repo.get(run.result_commit)
    assert commit is not None
    files: dict[str, TreeContent] = dict(read_tree_files(runs.repo, commit.tree))
    for name, values in series.items():
        rows = "".join(f"{step}\t{1795000000 + step}\t{value}\n" for step, value in enumerate(values))
        files[f"metrics/{name}.tsv"] = ("step\ttime\tvalue\n" + rows).encode()
    runs.save_result(run, files)

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        doc["result_commit"] = run.result_commit
        return doc

    runs.update_doc(run, change, "test: series")


def env_section(python: str, packages: dict[str, str], variables: list[str]) -> dict[str, Any]:
    return {"python": {"version": python, "executable": "/usr/bin/python3", "implementation": "CPython"},
            "packages": [{"name": name, "version": version, "installer": "pip"}
                         for name, version in packages.items()],
            "vars": {name: "x" for name in variables}}


def isolated_env(monkeypatch: Any, home: Path) -> None:
    from tests.conftest import isolate

    isolate(monkeypatch, home)


def build_project(root: Path) -> dict[str, str]:
    """A repository with four runs whose code, parameters, data, packages and metrics differ.

    a: baseline code, lr 0.1, imagenet v1, numpy 1.26 + pandas, python 3.11.7, loss 0.5 acc 0.8
    b: train.py changed and model.py added, lr 0.01, imagenet v2, numpy 2.0 + torch, python 3.12.1,
       loss 0.3 acc 0.9
    c: a failing command, tagged "broken"
    d: on branch "feature" (not reachable from main)
    """
    from tests.conftest import git

    repo = root / "project"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text(TRAIN)
    (repo / "README.md").write_text("demo\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "initial")
    ids: dict[str, str] = {}
    ids["a"] = record(repo, "--name", "run-a", "-m", "baseline lr", "--", "python", "train.py", "0.1")
    set_doc(repo, ids["a"], params={"lr": 0.1, "batch": 32, "optim.name": "adam"},
            metrics={"loss": 0.5, "acc": 0.8},
            data=[{"name": "imagenet", "version": "v1", "hash": "blake3:111", "path": "data/imagenet",
                   "size": 100, "files": 3}],
            env=env_section("3.11.7", {"numpy": "1.26.4", "pandas": "2.0.0"}, ["PATH", "OLD_VAR"]))
    set_series(repo, ids["a"], {"loss": [1.0, 0.8, 0.6, 0.5], "acc": [0.5, 0.6, 0.7, 0.8]})
    (repo / "train.py").write_text(TRAIN.replace("range(5)", "range(7)"))
    (repo / "model.py").write_text("class Model:\n    pass\n")
    ids["b"] = record(repo, "--name", "run-b", "-m", "smaller lr", "--", "python", "train.py", "0.01")
    set_doc(repo, ids["b"], params={"lr": 0.01, "batch": 32, "optim.name": "adam"},
            metrics={"loss": 0.3, "acc": 0.9},
            data=[{"name": "imagenet", "version": "v2", "hash": "blake3:222", "path": "data/imagenet",
                   "size": 120, "files": 3}],
            env=env_section("3.12.1", {"numpy": "2.0.0", "torch": "2.1.0"}, ["PATH", "NEW_VAR"]))
    set_series(repo, ids["b"], {"loss": [1.0, 0.6, 0.4, 0.35, 0.3], "acc": [0.5, 0.7, 0.8, 0.85, 0.9]})
    ids["c"] = record(repo, "--name", "run-c", "--tag", "broken", "--", "python", "-c",
                      "raise SystemExit(3)", check=False)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "second")
    git(repo, "switch", "-q", "-c", "feature")
    (repo / "feature.txt").write_text("feature\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "feature work")
    ids["d"] = record(repo, "--name", "run-d", "--", "python", "train.py", "0.5")
    set_doc(repo, ids["d"], metrics={"loss": 0.2, "acc": 0.95})
    git(repo, "switch", "-q", "main")
    ids["repo"] = str(repo)
    return ids


def run_in_terminal(cwd: Path, args: list[str], answer: bytes = b"", env: dict[str, str] | None = None,
                    timeout: float = 60) -> tuple[int, str]:
    """Run ``git run ARGS`` with a pseudo-terminal as stdin/stdout/stderr, typing ``answer``."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gitrun", *args], cwd=cwd, stdin=slave, stdout=slave,
                            stderr=slave, env={**os.environ, "TERM": "dumb", **(env or {})}, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    typed = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
            if answer and not typed and b"[y/N]" in b"".join(chunks):
                os.write(master, answer)
                typed = True
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=5)
    os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


_SHARED: dict[str, dict[str, str]] = {}


def shared_project(tmp_path_factory: Any) -> dict[str, str]:
    """``build_project`` once per test process (diff, list and report tests only read it, or undo
    what they change), in its own isolated HOME."""
    import pytest

    if "project" not in _SHARED:
        with pytest.MonkeyPatch.context() as patch:
            root = tmp_path_factory.mktemp("project")
            isolated_env(patch, root / "home")
            _SHARED["project"] = build_project(root)
    return _SHARED["project"]
