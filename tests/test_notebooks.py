"""Notebooks: ``gitrun.init()`` in a Jupyter kernel records the notebook (its saved ``.ipynb`` and
the source of the executed cells), and ``with gitrun.run(...)`` in a loop makes one run per
iteration. Executed by a real kernel through nbclient, as Jupyter would run them.

Slow (a kernel start): run by ``make check``; skipped when the ``test-integrations`` extra is missing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git, gitrun

pytestmark = pytest.mark.slow

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


def execute(repo: Path, name: str, cells: list[str], saved: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Write the notebook at ``repo/name`` and run it in a fresh kernel with ``repo`` as its folder;
    ``saved``: the kernel is told its notebook's path as Jupyter's server tells it (JPY_SESSION_NAME)."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = repo / name
    nbformat.write(notebook, path)
    if saved:
        monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    else:
        monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setenv("GITRUN_NO_AUTOLOG", "1")  # keep the kernel's start light; nothing here needs the hooks
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(repo)}})
    client.execute()
    if not saved:
        path.unlink()  # never saved: only the kernel's history knows the cells


def runs(repo: Path) -> list[dict[str, Any]]:
    listed = json.loads(gitrun(repo, "list", "--json").stdout)
    return [json.loads(gitrun(repo, "show", run["id"], "--json").stdout) for run in reversed(listed)]


def stored(repo: Path, run: dict[str, Any], path: str) -> str:
    return git(repo, "show", f"refs/experiments/{run['id']}:{path}")


def test_init_in_a_notebook_records_the_notebook(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    execute(repo, "analysis.ipynb", [
        "import gitrun\nrun = gitrun.init(name='nb-run')",
        "for step in range(3):\n    gitrun.log(step=step, loss=1 / (step + 1))",
        "print('trained')\nrun.finish()",
    ], saved=True, monkeypatch=monkeypatch)
    [run] = runs(repo)
    assert run["status"] == "succeeded" and run["name"] == "nb-run"
    assert run["metrics"]["loss"] == pytest.approx(1 / 3)
    notebook = run["notebook"]
    assert notebook["path"] == "analysis.ipynb" and notebook["saved"] is True
    assert notebook["found_by"] in ("__session__", "JPY_SESSION_NAME")
    assert notebook["files"] == ["notebook/cells.py", "notebook/analysis.ipynb"]
    saved = json.loads(stored(repo, run, "notebook/analysis.ipynb"))
    assert "gitrun.init(name='nb-run')" in "".join(saved["cells"][0]["source"])
    cells = stored(repo, run, "notebook/cells.py")
    assert "# In[3]\nprint('trained')\nrun.finish()" in cells  # every cell up to the one that ended the run
    assert "analysis.ipynb" in git(repo, "ls-tree", "--name-only", run["commit"])  # and in the snapshot


def test_runs_in_a_loop_of_an_unsaved_notebook(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    execute(repo, "Untitled.ipynb", [
        "import gitrun\nscores = {}",
        "for lr in (0.1, 0.01):\n"
        "    with gitrun.run(params={'lr': lr}, tags=['nb-sweep']):\n"
        "        gitrun.log(step=0, loss=lr * 10)\n"
        "        scores[lr] = lr * 10",
    ], saved=False, monkeypatch=monkeypatch)
    first, second = runs(repo)
    assert [first["params"]["lr"], second["params"]["lr"]] == [0.1, 0.01]
    assert [first["metrics"]["loss"], second["metrics"]["loss"]] == [1.0, 0.1]
    assert first["status"] == second["status"] == "succeeded" and first["tags"] == ["nb-sweep"]
    for run in (first, second):
        assert run["notebook"]["saved"] is False and "path" not in run["notebook"]
        assert run["notebook"]["files"] == ["notebook/cells.py"]
        assert "with gitrun.run(params={'lr': lr}" in stored(repo, run, "notebook/cells.py")
    assert os.environ.get("GITRUN_SPOOL") is None
