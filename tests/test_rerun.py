"""``git run rerun RUN --set KEY=VALUE``: the same code again, parameters overridden, linked to RUN."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitrun.store.library import Store
from tests.conftest import git, gitrun, user_state

TRAIN = """\
import argparse, yaml
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--config", default="conf.yaml")
args = parser.parse_args()
conf = yaml.safe_load(open(args.config))
print(f"lr={args.lr} depth={conf['model']['depth']}")
"""


@pytest.fixture
def project(repo: Path) -> Path:
    (repo / "train.py").write_text(TRAIN)
    (repo / "conf.yaml").write_text("model:\n  depth: 6\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "train")
    gitrun(repo, "-q", "--", "python", "train.py", "--lr", "0.1", "--config", "conf.yaml")
    return repo


def test_rerun_overrides_the_command_line_and_the_params_file_and_links_the_parent(project: Path) -> None:
    original = Store(project).runs()[0]
    (project / "conf.yaml").write_text("model:\n  depth: 99\n")  # the user's edits stay theirs
    git(project, "add", "conf.yaml")
    before = user_state(project)

    proc = gitrun(project, "rerun", original.name, "--set", "lr=0.001", "--set", "model.depth=12", "--tag", "try")

    assert "lr=0.001 depth=12" in proc.stdout
    store = Store(project)
    new = store.get(store.runs()[0].id)
    assert new.id != original.id
    assert new.doc["parent"] == original.id
    assert new.doc["launched_by"] == "git run rerun"
    assert new.doc["params"]["lr"] == 0.001 and new.doc["params"]["model.depth"] == 12
    assert new.doc["params_source"]["model.depth"] == "file:conf.yaml"
    assert new.command == ["python", "train.py", "--lr", "0.001", "--config", "conf.yaml"]
    assert new.message == f"rerun of {original.name} with lr=0.001, model.depth=12"
    assert new.tags == ["try"]
    assert user_state(project) == before
    shown = gitrun(project, "show", new.id, "--json").stdout
    assert f'"parent": "{original.id}"' in shown


@pytest.mark.parametrize("args, said", [
    (["rerun", "nosuchrun", "--set", "lr=1"], "no run matches 'nosuchrun'"),
    (["rerun", "@", "--set", "lr"], "--set 'lr' should be KEY=VALUE"),
    (["rerun", "@", "--set", "a b=1"], "--set 'a b=1': override key 'a b'"),
    (["rerun", "@", "--set", "lrr=1"], "has no parameter 'lrr' (did you mean lr?"),
])
def test_bad_input_is_one_line_and_runs_nothing(project: Path, args: list[str], said: str) -> None:
    name = Store(project).runs()[0].name
    args = [name if arg == "@" else arg for arg in args]
    proc = gitrun(project, *args, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and said in lines[0] and lines[0].startswith("git-run: error:"), proc.stderr
    assert len(Store(project).runs()) == 1
