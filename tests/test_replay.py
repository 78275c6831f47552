"""Jobs run at a recorded snapshot (``gitrun.runner.replay.run_job``), and the job spec they come from."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gitrun.capture.overrides import rewrite_argv
from gitrun.errors import UsageError
from gitrun.model.job import JobSpec, parse_assignment
from gitrun.runner.replay import run_job
from gitrun.store.library import Store
from tests.conftest import git, gitrun, user_state

TRAIN = """\
import argparse, json
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--depth", type=int, default=6)
parser.add_argument("--amp", action="store_true")
parser.add_argument("--config", default="conf.json")
args = parser.parse_args()
width = json.load(open(args.config))["model"]["width"]
print(f"lr={args.lr!r} depth={args.depth!r} amp={args.amp!r} width={width!r}")
print(f"loss: {args.lr * args.depth * width}")
"""


@pytest.fixture
def project(repo: Path) -> Path:
    (repo / "train.py").write_text(TRAIN)
    (repo / "conf.json").write_text('{"model": {"width": 3}}\n')
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "train")
    return repo


def first_run(repo: Path, *command: str) -> Any:
    gitrun(repo, "-q", "--", *command)
    store = Store(repo)
    return store.get(store.runs()[0].id)


def spec_for(run: Any, **fields: Any) -> JobSpec:
    return JobSpec(snapshot=run.snapshot_commit, command=tuple(run.command), **fields)


def test_a_job_runs_the_snapshot_with_its_overrides_and_links(project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    original = first_run(project, "python", "train.py", "--lr", "0.5", "--config", "conf.json")
    # The user goes on working: uncommitted edits, staged and untracked files must not leak in nor change.
    (project / "train.py").write_text("raise SystemExit('the edited script must not run')\n")
    (project / "notes.txt").write_text("mine\n")
    git(project, "add", "notes.txt")
    before = user_state(project)

    spec = spec_for(original, overrides=(("lr", 0.25), ("model.width", 5), ("depth", 2)),
                    links=(("parent", original.id),), params_files=("conf.json",), tags=("rerun",))
    result = run_job(spec, project, quiet=True)

    assert capfd.readouterr().out.splitlines()[0] == "lr=0.25 depth=2 amp=False width=5"
    assert result.exit_code == 0 and result.status == "succeeded"
    assert result.applied == {"lr": "argv", "model.width": "file:conf.json", "depth": "parser default"}
    assert result.unapplied == []
    new = Store(project).get(result.run_id)
    assert new.doc["parent"] == original.id
    assert new.doc["overrides"] == {"lr": 0.25, "model.width": 5, "depth": 2}
    assert new.command == ["python", "train.py", "--lr", "0.25", "--config", "conf.json"]
    assert new.doc["params"]["lr"] == 0.25 and new.doc["params"]["model.width"] == 5
    assert new.tags == ["rerun"]
    # On the original's base commit (so it lists beside it); the code is the original's plus the overrides.
    assert new.doc["git"]["base_commit"] == original.doc["git"]["base_commit"]
    assert git(project, "diff", "--name-only", original.snapshot_commit, new.snapshot_commit).split() == ["conf.json"]
    assert user_state(project) == before
    assert git(project, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_without_overrides_the_code_is_the_snapshot_exactly(project: Path) -> None:
    (project / "train.py").write_text(TRAIN.replace("loss", "LOSS"))  # uncommitted, as the run found it
    (project / "extra.txt").write_text("untracked\n")
    original = first_run(project, "python", "train.py")
    result = run_job(spec_for(original), project, quiet=True)
    new = Store(project).get(result.run_id)
    tree = git(project, "rev-parse", f"{original.snapshot_commit}^{{tree}}")
    assert git(project, "rev-parse", f"{new.snapshot_commit}^{{tree}}") == tree
    assert new.doc["git"]["modified"] == ["train.py"] and new.doc["git"]["untracked"] == ["extra.txt"]
    listed = gitrun(project, "list", "--columns", "id").stdout
    assert original.id[:8] in listed and new.id[:8] in listed and "hidden" not in listed


def test_a_job_whose_command_fails_is_a_failed_run_and_leaves_no_worktree(project: Path) -> None:
    original = first_run(project, "python", "train.py")
    spec = JobSpec(snapshot=original.snapshot_commit, command=("python", "-c", "import sys; sys.exit(3)"))
    result = run_job(spec, project, quiet=True)
    assert (result.exit_code, result.status) == (3, "failed")
    assert git(project, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_an_override_no_parser_knows_is_reported_as_not_applied(project: Path) -> None:
    original = first_run(project, "python", "train.py")
    result = run_job(spec_for(original, overrides=(("nonexistent", 1), ("amp", True))), project, quiet=True)
    assert result.unapplied == ["nonexistent"]
    assert result.applied == {"amp": "parser default"}


def test_click_defaults_are_overridden_through_the_startup_hook(repo: Path) -> None:
    (repo / "cli.py").write_text(
        "import click\n@click.command()\n@click.option('--steps', type=int, default=10)\n"
        "@click.option('--model-name', default='small')\n"
        "def main(steps, model_name):\n    print(f'steps={steps!r} name={model_name}')\nmain()\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "cli")
    original = first_run(repo, "python", "cli.py")
    result = run_job(spec_for(original, overrides=(("steps", 3), ("model-name", "big"))), repo, quiet=True)
    new = Store(repo).get(result.run_id)
    assert new.doc["params"]["steps"] == 3 and new.doc["params"]["model_name"] == "big"
    assert result.unapplied == []


def test_into_keeps_the_worktree_where_asked(project: Path, tmp_path: Path) -> None:
    original = first_run(project, "python", "train.py")
    into = tmp_path / "here"
    result = run_job(spec_for(original), project, into=into, quiet=True)
    assert result.worktree == into.absolute() and (into / "train.py").read_text() == TRAIN
    with pytest.raises(UsageError, match="exists and is not empty"):
        run_job(spec_for(original), project, into=into, quiet=True)


def test_an_unknown_snapshot_is_one_clear_error(project: Path) -> None:
    with pytest.raises(UsageError, match="is not in this repository"):
        run_job(JobSpec(snapshot="1" * 40, command=("true",)), project, quiet=True)


def test_sigterm_during_a_job_records_the_run_and_removes_the_worktree(project: Path) -> None:
    original = first_run(project, "python", "train.py")
    script = (
        "import sys\nfrom gitrun.model.job import JobSpec\nfrom gitrun.runner.replay import run_job\n"
        f"spec = JobSpec(snapshot={original.snapshot_commit!r}, command=('python', '-c', "
        "'import time; print(\"ready\", flush=True); time.sleep(60)'))\n"
        "result = run_job(spec, '.', quiet=True)\nsys.exit(result.exit_code)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=project, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 10
    while git(project, "worktree", "list", "--porcelain").count("worktree ") != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert git(project, "worktree", "list", "--porcelain").count("worktree ") == 1
    runs = Store(project).runs()
    assert runs[0].status == "killed" and runs[0].id != original.id


# --- the spec as data ------------------------------------------------------------------------------

def test_a_spec_round_trips_through_its_table() -> None:
    spec = JobSpec(snapshot="a" * 40, command=("python", "t.py"), overrides=(("lr", 0.1), ("layers", [64, 128])),
                   env="venv", links=(("parent", "01m8tcxqkj6cygn3rcpf9z05j1"), ("sweep", "s-1")), name="n1",
                   tags=("a",), message="m", cwd="src", params_files=("conf.yaml",), packages_of="01abc")
    assert JobSpec.from_dict(spec.to_dict()) == spec
    import tomllib

    import tomli_w

    assert JobSpec.from_dict(tomllib.loads(tomli_w.dumps(spec.to_dict()))) == spec


@pytest.mark.parametrize("change, said", [
    ({"snapshot": "HEAD"}, "snapshot 'HEAD' is not a full commit id"),
    ({"command": []}, "the command is empty"),
    ({"command": "python t.py"}, "command should be a list of text"),
    ({"command": ["a\0b"]}, "text without NUL bytes"),
    ({"env": "conda"}, "env 'conda' should be one of current, venv"),
    ({"overrides": [{"key": "a b", "value": 1}]}, "override key 'a b'"),
    ({"overrides": [{"key": "lr", "value": {"x": 1}}]}, "override lr: the value should be"),
    ({"overrides": [{"key": "lr"}]}, "override lr has no value"),
    ({"links": {"owner": "x"}}, "unknown link 'owner'"),
    ({"links": {"parent": "../../etc"}}, "link parent should be an id"),
    ({"cwd": "../outside"}, "cwd '../outside' should stay inside the repository"),
    ({"params_files": ["/etc/passwd"]}, "should stay inside the repository"),
    ({"name": "a name"}, "name 'a name'"),
    ({"surprise": 1}, "unknown field 'surprise'"),
    ({"message": 5}, "message should be text"),
])
def test_a_bad_spec_from_a_remote_is_refused_in_one_line(change: dict[str, Any], said: str) -> None:
    data = {**JobSpec(snapshot="a" * 40, command=("true",)).to_dict(), **change}
    with pytest.raises(UsageError) as caught:
        JobSpec.from_dict(data)
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_a_spec_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(UsageError, match="not a table"):
        JobSpec.from_dict(["snapshot"])


@pytest.mark.parametrize("text, parsed", [
    ("lr=0.001", ("lr", 0.001)), ("model.depth=12", ("model.depth", 12)), ("amp=true", ("amp", True)),
    ("name=resnet", ("name", "resnet")), ("layers=[64,128]", ("layers", [64, 128])), ("tag=007", ("tag", "007")),
    ("empty=", ("empty", "")),
])
def test_set_assignments_are_typed(text: str, parsed: tuple[str, Any]) -> None:
    assert parse_assignment(text) == parsed


@pytest.mark.parametrize("text", ["lr", "=1", "a b=1", "lr=nan\0"])
def test_a_bad_set_is_one_clear_error(text: str) -> None:
    with pytest.raises(UsageError, match="--set"):
        parse_assignment(text)


@pytest.mark.parametrize("argv, key, value, expected", [
    (["python", "t.py", "--lr", "0.1"], "lr", 0.5, ["python", "t.py", "--lr", "0.5"]),
    (["python", "t.py", "--lr=0.1", "x"], "lr", 0.5, ["python", "t.py", "--lr=0.5", "x"]),
    (["python", "t.py", "--model-depth", "6"], "model_depth", 12, ["python", "t.py", "--model-depth", "12"]),
    (["python", "t.py", "model.depth=6"], "model.depth", 12, ["python", "t.py", "model.depth=12"]),
    (["python", "t.py", "+model.depth=6"], "model.depth", 12, ["python", "t.py", "+model.depth=12"]),
    (["python", "t.py", "--amp", "--lr", "1"], "amp", False, ["python", "t.py", "--lr", "1"]),
    (["python", "t.py", "--layers", "64", "128", "--x"], "layers", [8, 16, 32],
     ["python", "t.py", "--layers", "8", "16", "32", "--x"]),
    (["python", "-u", "t.py", "--lr", "0.1"], "u", 1, None),  # the interpreter's options are not the script's
    (["python", "t.py", "--", "--lr", "0.1"], "lr", 0.5, None),
    (["python", "t.py", "--depth", "6"], "lr", 0.5, None),
])
def test_command_line_parameters_are_rewritten_in_place(argv: list[str], key: str, value: Any,
                                                        expected: list[str] | None) -> None:
    assert rewrite_argv(argv, key, value) == expected


def test_the_environment_of_a_job_can_be_given(project: Path) -> None:
    original = first_run(project, "python", "train.py")
    env = {**os.environ, "GITRUN_JOB_PROBE": "from-the-caller"}
    probe = "import os, sys; sys.exit(os.environ['GITRUN_JOB_PROBE'] != 'from-the-caller')"
    spec = JobSpec(snapshot=original.snapshot_commit, command=("python", "-c", probe))
    assert run_job(spec, project, env=env, quiet=True).exit_code == 0


def test_a_job_follows_the_repositorys_git_config_settings(project: Path) -> None:
    original = first_run(project, "python", "train.py")
    git(project, "config", "gitrun.logCap", "64KiB")  # as `git run` itself reads it (gitrun.store.config)
    result = run_job(spec_for(original), project, quiet=True)
    assert Store(project).get(result.run_id).doc["log"]["cap_bytes"] == 64 * 1024
