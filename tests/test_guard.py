"""The guard without false alarms (issue 10): only what a run used can make `git run check` fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitrun.model import checks as C
from tests.conftest import gitrun


def record(repo: Path, *command: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([sys.executable, "-m", "gitrun", "-q", "--", *command], cwd=repo,
                            env={**os.environ, **(env or {})}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return str(json.loads(gitrun(repo, "list", "--json").stdout)[0]["id"])


def test_check_passes_with_gitrun_from_a_local_path_and_a_library_probing_unset_variables(repo: Path) -> None:
    # The test's own interpreter has gitrun installed from this source tree, outside `repo`.
    (repo / "lib_probe.py").write_text(
        "import os\n"
        "def configure():\n"
        "    return [os.environ.get(n) for n in ('HF_TOKEN', 'WANDB_API_KEY', 'AWS_SECRET_ACCESS_KEY')]\n")
    (repo / "train.py").write_text("import lib_probe, click\nprint(lib_probe.configure())\nprint('loss: 0.5')\n")
    env = {key: value for key, value in os.environ.items()
           if key not in ("HF_TOKEN", "WANDB_API_KEY", "AWS_SECRET_ACCESS_KEY")}
    run_id = record(repo, sys.executable, "train.py", env=env)
    shown = json.loads(gitrun(repo, "show", run_id, "--json").stdout)["env"]
    assert {"HF_TOKEN", "WANDB_API_KEY", "AWS_SECRET_ACCESS_KEY"} <= set(shown["read_unset"])
    assert "click" in shown["imported"] and "gitrun" not in shown["imported"]
    text = gitrun(repo, "show", run_id).stdout
    assert "read, unset" in text and "HF_TOKEN" in text
    result = gitrun(repo, "check", run_id, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reproducible by others" in result.stdout


def test_a_secret_the_run_read_while_set_is_still_required(repo: Path) -> None:
    run_id = record(repo, sys.executable, "-c", "import os; os.environ['HF_TOKEN']",
                    env={"HF_TOKEN": "hf_" + "x" * 30})
    result = gitrun(repo, "check", run_id, check=False)
    assert result.returncode == 1 and "HF_TOKEN" in result.stdout


def test_environment_rule_counts_only_imported_packages() -> None:
    doc = {"env": {"packages": [
        {"name": "Tool_Kit", "version": "1", "installer": "editable", "location": "/elsewhere/tool"},
        {"name": "gitrun", "version": "0.1", "installer": "local", "location": "/src/gitrun"},
        {"name": "nover", "version": "", "installer": "pip"}]}}
    untraced = [p for p, _ in C.check_environment("r", doc, "/repo", frozenset({"gitrun"}))]
    assert len(untraced) == 2 and "Tool_Kit" in untraced[0] and "nover" in untraced[1]
    doc["env"]["imported"] = ["tool-kit"]
    traced = [p for p, _ in C.check_environment("r", doc, "/repo")]
    assert traced == ["the run imported Tool_Kit, installed in editable mode (/elsewhere/tool), outside the repository"]
    doc["env"]["imported"] = []
    assert C.check_environment("r", doc, "/repo") == []


def test_gitrun_and_its_dependencies_never_count_unless_imported() -> None:
    from gitrun.commands.check import own_distributions

    own = own_distributions()
    assert {"gitrun", "pygit2", "click"} <= own
    assert "pytest" not in own  # a dev extra, not needed to run gitrun


def many_runs_with_one_problem(repo: Path, count: int) -> list[str]:
    (repo / ".gitrun.toml").write_text("max_untracked_size = 100\n")
    (repo / "weights.bin").write_bytes(b"x" * 1000)
    return [record(repo, "true") for _ in range(count)]


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_check_groups_identical_problems_and_fits_80_columns(repo: Path) -> None:
    runs = many_runs_with_one_problem(repo, 4)
    result = gitrun(repo, "check", check=False, env={"COLUMNS": "80"})
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, result.stdout
    assert result.stdout.count("weights.bin was left out") == 1  # one entry for the 4 runs
    assert "(4 runs)" in result.stdout
    assert 'git run check --accept "REASON" RUN --only code' in " ".join(result.stdout.split())
    assert "4 of 4 run(s) failed" in result.stdout
    # Piped without COLUMNS: one line per part, never cut.
    piped = gitrun(repo, "check", runs[0], check=False).stdout
    assert any("weights.bin was left out of the snapshot (untracked file larger than 100 bytes)" in line
               for line in piped.splitlines())
    assert runs[0] in piped


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_accept_takes_several_runs_or_a_where_selection(repo: Path) -> None:
    runs = many_runs_with_one_problem(repo, 3)
    out = gitrun(repo, "check", "--accept", "weights are rebuilt by the run", runs[0], runs[1], "--only", "code")
    assert "accepted code for 2 runs" in out.stdout
    remaining = gitrun(repo, "check", check=False).stdout
    assert runs[2] in remaining and runs[0] not in remaining
    gitrun(repo, "tag", runs[2], "sweep")
    gitrun(repo, "check", "--accept", "the sweep too", "--where", "tags contains sweep", "--only", "code")
    assert gitrun(repo, "check").returncode == 0
    doc = json.loads(gitrun(repo, "show", runs[2], "--json").stdout)
    assert doc["accepted"][0]["reason"] == "the sweep too"
    nothing = gitrun(repo, "check", "--accept", "why", check=False)
    assert nothing.returncode == 2 and "name the runs to accept" in nothing.stderr
    no_match = gitrun(repo, "check", "--accept", "why", "--where", "metrics.nope > 1", check=False)
    assert no_match.returncode == 2 and "no run has metrics.nope" in no_match.stderr
