"""The guard without false alarms (issue 10): only what a run used can make `git run check` fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
