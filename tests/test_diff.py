"""``git run diff``: runs compared section by section, against commits and the working tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import git, gitrun
from tests.run_fixtures import run_in_terminal, shared_project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return shared_project(tmp_path_factory)


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_diff_shows_each_section_with_only_what_differs(project: dict[str, str]) -> None:
    repo = Path(project["repo"])
    out = gitrun(repo, "diff", "run-a", "run-b").stdout
    assert "A  " in out and "(run-a)" in out and "(run-b)" in out
    assert "code: 2 files changed" in out
    assert "M  train.py  +1 -1" in out
    assert "A  model.py  +2 -0" in out
    params = out.split("parameters:")[1].split("\n\n")[0]
    assert "lr" in params and "0.1" in params and "0.01" in params
    assert "batch" not in params  # the same in both: hidden without --all
    metrics = out.split("metrics:")[1].split("\n\n")[0]
    loss = next(line for line in metrics.splitlines() if line.strip().startswith("loss"))
    assert "-0.2 (-40.0%)" in loss and " B " in loss + " " and "lower is better" in loss
    acc = next(line for line in metrics.splitlines() if line.strip().startswith("acc"))
    assert "+0.1 (+12.5%)" in acc and "higher is better" in acc
    data = out.split("data:")[1].split("\n\n")[0]
    assert "imagenet" in data and "v1" in data and "v2" in data and "blake3:111" in data
    env = out.split("environment:")[1].split("\n\n")[0]
    assert "python" in env and "3.11.7" in env and "3.12.1" in env
    assert "package numpy" in env and "1.26.4" in env and "2.0.0" in env
    assert "package torch" in env and "(added)" in env
    assert "package pandas" in env and "(removed)" in env
    assert "env var names" in env and "OLD_VAR" in env and "NEW_VAR" in env and "PATH" not in env
    command = out.split("command:")[1]
    assert "python train.py 0.1" in command and "python train.py 0.01" in command


def test_diff_all_shows_equal_values_too(project: dict[str, str]) -> None:
    out = gitrun(Path(project["repo"]), "diff", "run-a", "run-b", "--all").stdout
    params = out.split("parameters:")[1].split("\n\n")[0]
    assert "batch" in params and "optim.name" in params


def test_diff_json_is_a_documented_object(project: dict[str, str]) -> None:
    result = json.loads(gitrun(Path(project["repo"]), "diff", "run-a", "run-b", "--json").stdout)
    assert result["a"]["id"] == project["a"] and result["b"]["id"] == project["b"]
    assert result["compared"] == ["code", "params", "metrics", "data", "environment", "hardware", "command"]
    assert {f["path"]: f["status"] for f in result["code"]["files"]} == {"train.py": "modified",
                                                                         "model.py": "added"}
    loss = next(entry for entry in result["metrics"] if entry["key"] == "loss")
    assert loss["a"] == 0.5 and loss["b"] == 0.3 and loss["direction"] == "lower" and loss["better"] == "b"
    assert loss["delta"] == pytest.approx(-0.2) and loss["relative"] == pytest.approx(-0.4)
    assert [entry["key"] for entry in result["params"]] == ["lr"]
    assert result["data"][0]["a"]["hash"] == "blake3:111" and result["data"][0]["b"]["version"] == "v2"
    packages = {entry["key"]: (entry["a"], entry["b"]) for entry in result["environment"]["packages"]}
    assert packages == {"numpy": ("1.26.4", "2.0.0"), "pandas": ("2.0.0", None), "torch": (None, "2.1.0")}
    assert result["environment"]["vars_added"] == ["NEW_VAR"]
    assert result["environment"]["vars_removed"] == ["OLD_VAR"]


def test_diff_with_code_prints_the_patch(project: dict[str, str]) -> None:
    out = gitrun(Path(project["repo"]), "diff", "run-a", "run-b", "--code").stdout
    assert "diff --git a/model.py b/model.py" in out
    assert "-for step in range(5):" in out and "+for step in range(7):" in out
    result = json.loads(gitrun(Path(project["repo"]), "diff", "run-a", "run-b", "--code", "--json").stdout)
    assert "+for step in range(7):" in result["code"]["patch"]


def test_code_goes_through_the_users_pager_on_a_terminal(project: dict[str, str]) -> None:
    code, out = run_in_terminal(Path(project["repo"]), ["diff", "run-a", "run-b", "--code"],
                                env={"GIT_PAGER": "sed 's/^/PAGED: /'", "PAGER": "cat"})
    assert code == 0
    assert "code: 2 files changed" in out  # gitrun's summary, then git's own diff through the pager
    assert "PAGED: diff --git a/model.py b/model.py" in out


def test_diff_against_working_tree_branch_and_commit(project: dict[str, str]) -> None:
    repo = Path(project["repo"])
    (repo / "README.md").write_text("changed on disk\n")
    try:
        out = gitrun(repo, "diff", "run-b", ".").stdout
        assert "B  working tree" in out
        assert "M  README.md" in out and "train.py" not in out
        assert "only code is compared" in out
        out = gitrun(repo, "diff", "run-b", "feature").stdout
        assert "A  feature.txt" in out
        head = git(repo, "rev-parse", "HEAD").strip()
        out = gitrun(repo, "diff", head[:10], "run-a").stdout
        assert "M  train.py" in out and "D  model.py" in out
    finally:
        git(repo, "checkout", "--", "README.md")


def test_one_argument_compares_with_base_commit_then_baseline(project: dict[str, str]) -> None:
    repo = Path(project["repo"])
    out = gitrun(repo, "diff", "run-b").stdout
    assert out.splitlines()[0].startswith("A  base commit")
    assert "A  model.py" in out and "M  train.py" in out
    gitrun(repo, "baseline", "run-a")
    try:
        out = gitrun(repo, "diff", "run-b").stdout
        assert "[baseline of main]" in out.splitlines()[0] and "(run-a)" in out.splitlines()[0]
        assert "metrics:" in out
    finally:
        gitrun(repo, "baseline", "--clear")


def test_metric_direction_is_configurable(project: dict[str, str]) -> None:
    repo = Path(project["repo"])
    (repo / ".gitrun.toml").write_text('[metrics.direction]\nacc = "lower"\n')
    try:
        result = json.loads(gitrun(repo, "diff", "run-a", "run-b", "--json").stdout)
    finally:
        (repo / ".gitrun.toml").unlink()
    acc = next(entry for entry in result["metrics"] if entry["key"] == "acc")
    assert acc["direction"] == "lower" and acc["better"] == "a"


def test_unknown_side_is_a_clear_error(project: dict[str, str]) -> None:
    proc = gitrun(Path(project["repo"]), "diff", "run-a", "no-such-thing", check=False)
    assert proc.returncode == 1
    assert "'no-such-thing' is not a run, a branch or a commit" in proc.stderr
    assert "Traceback" not in proc.stderr
