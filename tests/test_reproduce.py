"""``git run reproduce RUN``: pre-checks, the run again at its snapshot, the verdict and where it is kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from gitrun.runner.venv import find_uv
from gitrun.store.library import Store
from tests.conftest import git, gitrun, user_state
from tests.remote_helpers import Server, make_user, server_fixture  # noqa: F401

DETERMINISTIC = """\
import argparse, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=3)
args = parser.parse_args()
for step in range(args.steps):
    print(f"step {step} loss: {1 / (step + 1):.6f}")
print(f"accuracy: 0.875")
pathlib.Path("out").mkdir(exist_ok=True)
pathlib.Path("out/model.txt").write_text("weights 1 2 3\\n")
"""

NOISY = """\
import argparse, os, random
parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int, default=None)
args = parser.parse_args()
rng = random.Random(args.seed if args.seed is not None else int.from_bytes(os.urandom(8), "big"))
for step in range(3):
    print(f"step {step} loss: {1 / (step + 1) + rng.gauss(0, 0.001):.9f}")
"""


def commit_script(repo: Path, text: str, name: str = "train.py") -> None:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"add {name}")


def newest(repo: Path) -> str:
    return str(json.loads(gitrun(repo, "list", "--json", "--all-branches").stdout)[0]["id"])


def verdict_of(output: str) -> str:
    """The verdict line's word(s): ``EXACT``, ``WITHIN TOLERANCE``, ``DIVERGED`` (the run's own output comes first)."""
    lines = [line for line in output.splitlines() if line.startswith("verdict: ")]
    return lines[-1].split(": ")[1] if lines else ""


def reproduced_by(repo: Path, run_id: str) -> list[dict[str, object]]:
    return list(Store(repo).get(run_id).doc.get("reproduced_by", []))


@pytest.mark.slow  # a clone, a push, a pull, gc and three recordings: about 10 s on a loaded machine
def test_a_run_reproduces_exactly_in_a_fresh_clone_after_its_branch_is_gone(server: Server, tmp_path: Path) -> None:
    ada = make_user(server, tmp_path, "Ada", seed=True)
    git(ada.path, "checkout", "-q", "-b", "experiment")
    commit_script(ada.path, DETERMINISTIC)
    (ada.path / "train.py").write_text(DETERMINISTIC.replace("--steps\", type=int, default=3",
                                                             "--steps\", type=int, default=4"))  # uncommitted
    run_id = ada.record("python", "train.py")
    ada.run("push")
    git(ada.path, "checkout", "-q", "-f", "main")
    git(ada.path, "branch", "-q", "-D", "experiment")
    git(ada.path, "reflog", "expire", "--expire=now", "--all")
    git(ada.path, "gc", "-q", "--prune=now")

    bob = make_user(server, tmp_path, "Bob")
    bob.run("pull")
    git(bob.path, "gc", "-q", "--prune=now")
    before = user_state(bob.path)
    proc = bob.run("reproduce", run_id[:10])

    assert verdict_of(proc.stdout) == "EXACT", proc.stdout + proc.stderr
    assert "step 3 loss: 0.250000" in proc.stdout  # the uncommitted edit ran: 4 steps
    assert user_state(bob.path) == before
    records = reproduced_by(bob.path, run_id)
    assert [r["verdict"] for r in records] == ["exact"]
    new = Store(bob.path).get(str(records[0]["run"]))
    assert new.doc["reproduces"] == run_id and new.doc["outputs"][0]["path"] == "out/model.txt"
    assert git(bob.path, "worktree", "list", "--porcelain").count("worktree ") == 1


@pytest.mark.slow  # three recordings of a noisy script
def test_seeded_noise_is_within_a_loose_tolerance_and_diverges_under_a_tight_one(repo: Path) -> None:
    commit_script(repo, NOISY)
    gitrun(repo, "-q", "--", "python", "train.py")
    run_id = newest(repo)
    before = user_state(repo)

    loose = gitrun(repo, "reproduce", run_id, "--tolerance", "loss=0.01", check=False)
    assert loose.returncode == 0, loose.stdout + loose.stderr
    assert verdict_of(loose.stdout) == "WITHIN TOLERANCE"

    tight = gitrun(repo, "reproduce", run_id, "--tolerance", "loss=1e-12", check=False)
    assert tight.returncode == 1
    out = tight.stdout
    assert verdict_of(out) == "DIVERGED"
    assert "metric  loss" in out and "±1e-12" in out
    first_cause = out.split("likely causes, most likely first:\n")[1].splitlines()[0]
    assert first_cause.startswith("  1. seeds: no seed among the run's parameters")
    assert [r["verdict"] for r in reproduced_by(repo, run_id)] == ["within tolerance", "diverged"]
    assert user_state(repo) == before
    shown = gitrun(repo, "show", run_id).stdout
    assert "reproduced 2  diverged by " in shown
    listed = gitrun(repo, "list", "--columns", "name,reproduced", "--where", "reproduced == diverged").stdout
    assert "diverged" in listed


@pytest.mark.slow  # three recordings
def test_tolerances_come_from_pyproject_and_repeat_reports_the_spread(repo: Path) -> None:
    (repo / "pyproject.toml").write_text("[tool.gitrun.reproduce]\ntolerance = { loss = \"5%\" }\n")
    git(repo, "add", "pyproject.toml")
    commit_script(repo, NOISY)
    gitrun(repo, "-q", "--", "python", "train.py")
    run_id = newest(repo)
    proc = gitrun(repo, "reproduce", run_id, "--repeat", "2", "--json", check=False)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["verdict"] == "within tolerance"
    assert len(report["runs"]) == 2 and report["tolerances"]["loss"] == {"abs_tol": 0.0, "rel": 0.05}
    (spread,) = report["spread"]
    assert spread["metric"] == "loss" and spread["low"] <= spread["high"] and spread["max_deviation"] > 0
    assert reproduced_by(repo, run_id)[0]["runs"] == report["runs"]


def test_a_changed_dataset_is_reported_before_the_run(repo: Path) -> None:
    (repo / ".gitignore").write_text("data/\n")
    (repo / "data").mkdir()
    (repo / "data" / "train.csv").write_text("x,y\n1,2\n")
    git(repo, "add", ".gitignore")
    commit_script(repo, "rows = open('data/train.csv').read().splitlines()\nprint(f'rows: {len(rows)}')\n")
    gitrun(repo, "-q", "--data", "data/train.csv", "--", "python", "train.py")
    run_id = newest(repo)
    (repo / "data" / "train.csv").write_text("x,y\n1,2\n3,4\n")

    proc = gitrun(repo, "reproduce", run_id, check=False)

    err = proc.stderr
    assert "data     data/train.csv  changed" in err, err
    assert err.index("data/train.csv  changed") < err.index(" started; snapshot")  # before running
    assert "rows: 3" in proc.stdout  # the data is read where it lies (an ignored file: linked in)
    assert proc.returncode == 1
    assert "data: data inputs changed or missing: data/train.csv" in proc.stdout


def test_the_guard_can_require_a_reproduction(repo: Path) -> None:
    (repo / "pyproject.toml").write_text("[tool.gitrun.check]\nrequire_reproduced = true\n")
    git(repo, "add", "pyproject.toml")
    commit_script(repo, DETERMINISTIC)
    gitrun(repo, "-q", "--", "python", "train.py")
    run_id = newest(repo)
    refused = gitrun(repo, "check", run_id, "--only", "reproduced", check=False)
    assert refused.returncode == 1 and "never reproduced" in refused.stdout + refused.stderr
    gitrun(repo, "reproduce", run_id, "-q")
    assert gitrun(repo, "check", run_id, "--only", "reproduced", check=False).returncode == 0


def test_ctrl_c_stops_a_reproduction_without_a_verdict(repo: Path) -> None:
    sleeper = "import os, time\nprint('ready', flush=True)\ntime.sleep(float(os.environ.get('NAP', '0')))\n"
    commit_script(repo, sleeper)
    gitrun(repo, "-q", "--", "python", "train.py")
    run_id = newest(repo)
    proc = subprocess.Popen([sys.executable, "-m", "gitrun", "reproduce", run_id], cwd=repo, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "NAP": "60"})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("git-run: error: reproduction stopped: run ")
    assert reproduced_by(repo, run_id) == []
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1


BAD_INPUT = [
    (["reproduce", "nosuchrun"], "no run matches 'nosuchrun'"),
    (["reproduce", "@", "--tolerance", "acc"], "--tolerance 'acc' should be METRIC=VALUE"),
    (["reproduce", "@", "--tolerance", "acc=lots"], "--tolerance acc: 'lots' is not a tolerance"),
    (["reproduce", "@", "--tolerance", "acc=-1"], "should be a finite, non-negative tolerance"),
]


def test_bad_input_is_one_line_and_runs_nothing(repo: Path) -> None:
    gitrun(repo, "-q", "--", "python", "train.py")
    run_id = newest(repo)
    for args, said in BAD_INPUT:
        proc = gitrun(repo, *[run_id if arg == "@" else arg for arg in args], check=False)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode != 0 and len(lines) == 1 and said in lines[0], proc.stderr
    assert len(json.loads(gitrun(repo, "list", "--json", "--all-branches").stdout)) == 1


def make_wheel(folder: Path, name: str, version: str, source: str) -> Path:
    """A pure-Python wheel, written by hand (no build backend, no network)."""
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": source,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/top_level.txt": f"{name}\n",
    }
    record = "".join(f"{path},,\n" for path in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(f"{info}/RECORD", record)
    return wheel


@pytest.mark.slow  # builds a virtual environment with uv
def test_a_venv_is_rebuilt_with_uv_from_the_recorded_packages(repo: Path, tmp_path: Path) -> None:
    if find_uv() is None:
        pytest.skip("uv is not installed (pip install 'gitrun[reproduce]')")
    wheels = tmp_path / "wheels"
    wheel = make_wheel(wheels, "tinyscale", "1.2.0", "FACTOR = 3\n")
    site = tmp_path / "site"  # the original run sees the package through PYTHONPATH, as if installed
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    commit_script(repo, "import tinyscale, sys\nprint(f'value: {tinyscale.FACTOR * 2}')\nprint(sys.prefix)\n")
    gitrun(repo, "-q", "--", "python", "train.py", env={"PYTHONPATH": str(site)})
    run_id = newest(repo)
    recorded = Store(repo).get(run_id).doc["env"]
    assert "tinyscale" in recorded["imported"]

    cache = tmp_path / "venvs"
    env = {"GITRUN_VENV_CACHE": str(cache)}
    args = ["reproduce", run_id, "--env", "venv", "--no-index", "--find-links", str(wheels)]
    started = time.monotonic()
    first = gitrun(repo, *args, env=env, check=False)
    assert first.returncode == 0, first.stdout + first.stderr
    assert verdict_of(first.stdout) == "EXACT"
    assert str(cache) in first.stdout  # sys.prefix: the run ran in the rebuilt environment
    assert "built with uv" in first.stderr
    assert "pre-checks: 0 difference(s)" in first.stderr  # tinyscale 1.2.0 there as recorded
    built = time.monotonic() - started
    second = gitrun(repo, *args, env=env, check=False)
    assert second.returncode == 0 and "(cached)" in second.stderr, (built, second.stderr)
    venvs = [path for path in cache.iterdir() if not path.name.startswith(".")]
    assert len(venvs) == 1
    listed = subprocess.run([str(venvs[0] / "bin" / "python"), "-c", "import tinyscale; print(tinyscale.FACTOR)"],
                            capture_output=True, text=True, check=True)
    assert listed.stdout.strip() == "3"
