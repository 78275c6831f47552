"""Sweeps run by workers: locally, and by several workers sharing a real git daemon remote, with a
worker killed mid-job and its job finished by another once the lease expired."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pygit2
import pytest

from gitrun.store.git import open_repository
from gitrun.store.index import FULL
from gitrun.store.queue import LocalQueue, RemoteQueue, list_jobs
from gitrun.store.runs import RunStore
from tests.conftest import git, gitrun, user_state
from tests.remote_helpers import Server, User, make_user, server_fixture  # noqa: F401

SCRIPT = """import argparse, os, sys, time
p = argparse.ArgumentParser()
p.add_argument("--a", type=int, default=1)
p.add_argument("--b", type=int, default=1)
args = p.parse_args()
marker = os.environ.get("HANG_MARKER")
if marker and not os.path.exists(marker):  # the first attempt hangs (until it is killed)
    with open(marker, "w") as out:
        out.write(str(os.getpid()))
    time.sleep(120)
print(f"score: {args.a * 10 + args.b}")
"""


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def add_script(path: Path, push: bool = False) -> None:
    (path / "train.py").write_text(SCRIPT)
    git(path, "add", "train.py")
    git(path, "commit", "-q", "-m", "a script with parameters")
    if push:
        git(path, "push", "-q", "origin", "main")


def runs_of(path: Path) -> list[dict[str, Any]]:
    repo, paths = open_repository(path)
    return [run.doc for run in RunStore(repo, paths).list_runs(FULL)]


def jobs_on(path: Path, remote: str | None = None) -> list[dict[str, Any]]:
    repo = pygit2.Repository(str(path))
    queue = LocalQueue(repo) if remote is None else RemoteQueue(repo, path, remote)
    queue.refresh()
    return [job.doc for job in list_jobs(repo, queue.refs())[0]]


def sweep_id_of(path: Path) -> str:
    out = gitrun(path, "sweep", "ls", "--json").stdout
    return str(json.loads(out)[0]["id"])


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_a_local_sweep_runs_every_trial_once_and_marks_the_best(repo: Path) -> None:
    add_script(repo)
    before = user_state(repo)
    proc = gitrun(repo, "sweep", "--grid", "a=1,2", "--grid", "b=4", "--metric", "score", "--goal", "max",
                  "-j", "2", "-q", "--", "python", "train.py")
    assert "2 job(s) queued" in proc.stdout
    assert user_state(repo) == before  # the sweep's snapshot never touched the index, HEAD or files
    sweep = sweep_id_of(repo)
    runs = runs_of(repo)
    assert len(runs) == 2 and {run["sweep"] for run in runs} == {sweep}
    assert sorted((run["params"]["a"], run["params"]["b"]) for run in runs) == [(1, 4), (2, 4)]
    assert sorted(run["console"]["facts"]["score"] for run in runs) == [14, 24]
    assert len({run["job"] for run in runs}) == 2
    listed = json.loads(gitrun(repo, "list", "--sweep", sweep[:8], "--json").stdout)
    best = [run for run in listed["runs"] if run["best"]]
    assert len(best) == 1 and best[0]["params"] == {"a": 2, "b": 4} and best[0]["metric"] == 24
    table = gitrun(repo, "list", "--sweep", sweep).stdout
    assert "★" in table and "best:" in table and "a=2 b=4" in table
    assert all(job["state"] == "done" and job["result"]["exit_code"] == 0 for job in jobs_on(repo))
    assert gitrun(repo, "queue", "ls").stdout.startswith("no jobs")


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_a_wandb_sweep_file_runs_unchanged(repo: Path) -> None:
    add_script(repo)
    (repo / "sweep.yaml").write_text(
        "program: train.py\nmethod: random\nmetric:\n  name: score\n  goal: minimize\n"
        "parameters:\n  a:\n    values: [1, 2, 3]\n  b:\n    min: 1\n    max: 5\n"
        "command:\n  - ${env}\n  - python\n  - ${program}\n  - ${args}\n")
    proc = gitrun(repo, "sweep", "--file", "sweep.yaml", "--count", "2", "--seed", "4", "--run", "-q")
    runs = runs_of(repo)
    assert len(runs) == 2
    for run in runs:
        assert run["command"][:3] == ["/usr/bin/env", "python", "train.py"]
        assert run["console"]["facts"]["score"] == run["params"]["a"] * 10 + run["params"]["b"]
    assert "best:" in proc.stdout


def test_bayes_sweep_files_are_refused_in_one_line(repo: Path) -> None:
    (repo / "sweep.yaml").write_text("method: bayes\nprogram: t.py\nparameters:\n  a:\n    values: [1]\n")
    proc = gitrun(repo, "sweep", "--file", "sweep.yaml", check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "git-run: error: method 'bayes' is not supported: gitrun runs grid and random sweeps only (use method: random "
        "(or grid), or drive the search with a tool such as Optuna)"]
    assert not jobs_on(repo)


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_sweeping_a_recorded_run_overrides_its_parameters(repo: Path) -> None:
    add_script(repo)
    gitrun(repo, "-q", "--", "python", "train.py", "--a", "5", "--b", "5")
    parent = runs_of(repo)[0]["id"]
    gitrun(repo, "sweep", parent[:10], "--grid", "b=7", "--metric", "score", "--run", "-q")
    runs = [run for run in runs_of(repo) if run.get("sweep")]
    assert [run["console"]["facts"]["score"] for run in runs] == [57]
    assert {run["parent"] for run in runs} == {parent}


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_queue_add_ls_rm(repo: Path) -> None:
    add_script(repo)
    gitrun(repo, "queue", "add", "--", "python", "train.py", "--a", "3")
    gitrun(repo, "queue", "add", "--", "python", "train.py", "--a", "4")
    listed = json.loads(gitrun(repo, "queue", "ls", "--json").stdout)
    assert [job["state"] for job in listed] == ["queued", "queued"]
    gitrun(repo, "queue", "rm", listed[1]["id"][:12])
    gitrun(repo, "worker", "--once", "-q")
    runs = runs_of(repo)
    assert len(runs) == 1 and runs[0]["console"]["facts"]["score"] == 31
    assert "--api-key" in gitrun(repo, "queue", "add", "--", "python", "train.py",
                                 "--api-key=sk-live-4f9aB7cD2eF8gH1jK3lM5nP7qR9sT2vW", check=False).stderr


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_a_worker_from_a_fresh_clone_pushes_every_run_to_the_remote(server: Server, tmp_path: Path) -> None:
    ada = make_user(server, tmp_path, "Ada", seed=True)
    add_script(ada.path, push=True)
    ada.run("sweep", "--grid", "a=1,2", "--remote", "origin", "--", "python", "train.py")
    assert len(server.refs("refs/gitrun/queue/")) == 2 and len(server.refs("refs/gitrun/sweeps/")) == 1
    # what a cluster task runs: no clone of its own, no checkout, the code arrives with the jobs
    proc = gitrun(tmp_path, "worker", "--clone", server.url, "--once", "--lease", "30")
    assert "2 job(s) run" in proc.stderr
    assert len(server.refs()) == 2
    jobs = jobs_on(ada.path, "origin")
    assert all(job["state"] == "done" for job in jobs)
    ada.run("pull")
    runs = ada.runs()
    assert len(runs) == 2
    assert sorted(run["run"] for run in (job["result"] for job in jobs)) == sorted(str(r["id"]) for r in runs)
    bob = make_user(server, tmp_path, "Bob")  # a teammate sees the sweep and its runs after a pull
    bob.run("pull")
    assert "2 job(s), 2 run(s)" in bob.run("list", "--sweep", sweep_id_of(ada.path)).stdout


def process_alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return False


def start_worker(user: User, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "gitrun", "worker", "--remote", "origin", "--poll", "0.2", *args],
                            cwd=user.path, env={**os.environ, **user.env, **(env or {})}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish(proc: subprocess.Popen[str], timeout: float = 240) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def twelve_job_sweep(server: Server, tmp_path: Path) -> tuple[User, str]:
    ada = make_user(server, tmp_path, "Ada", seed=True)
    add_script(ada.path, push=True)
    ada.run("sweep", "--grid", "a=1,2,3", "--grid", "b=1,2,3,4", "--metric", "score", "--goal", "max",
            "--remote", "origin", "--", "python", "train.py")
    return ada, sweep_id_of(ada.path)


def check_every_job_ran_once(server: Server, ada: User, sweep: str) -> None:
    assert len(server.refs()) == 12  # every result is on the remote
    jobs = jobs_on(ada.path, "origin")
    assert len(jobs) == 12 and all(job["state"] == "done" and job["attempt"] == 1 for job in jobs)
    ada.run("pull")
    runs = [doc for doc in runs_of(ada.path) if doc.get("sweep") == sweep]
    assert len(runs) == 12
    assert sorted(run["job"] for run in runs) == sorted(job["id"] for job in jobs)  # each job exactly once
    assert sorted(run["console"]["facts"]["score"] for run in runs) == sorted(
        a * 10 + b for a in (1, 2, 3) for b in (1, 2, 3, 4))
    best = ada.run("list", "--sweep", sweep).stdout
    assert "score = 34" in best


@pytest.mark.slow
def test_twelve_jobs_three_workers_sharing_a_remote(server: Server, tmp_path: Path) -> None:
    ada, sweep = twelve_job_sweep(server, tmp_path)
    workers = [make_user(server, tmp_path, name) for name in ("Bob", "Cy", "Dee")]
    procs = [start_worker(worker, "--once", "--lease", "60") for worker in workers]
    outputs = [finish(proc) for proc in procs]
    check_every_job_ran_once(server, ada, sweep)
    taken = [out.count(" took job ") for out in outputs]
    assert sum(taken) == 12


@pytest.mark.slow
def test_a_killed_worker_s_job_is_finished_by_another_after_its_lease(server: Server, tmp_path: Path) -> None:
    ada = make_user(server, tmp_path, "Ada", seed=True)
    add_script(ada.path, push=True)
    ada.run("queue", "add", "--remote", "origin", "--", "python", "train.py", "--a", "4", "--b", "2")
    marker = tmp_path / "first-attempt.pid"
    bob, cy = make_user(server, tmp_path, "Bob"), make_user(server, tmp_path, "Cy")
    doomed = start_worker(bob, "--lease", "3", env={"HANG_MARKER": str(marker)})
    wait_until(marker.exists, 60, "the first attempt to start")
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait(10)
    child = int(wait_until(lambda: marker.read_text().strip(), 10, "the pid"))
    # the job's process dies with its worker: the job never runs twice at once
    wait_until(lambda: not process_alive(child), 30, "the first attempt to stop")
    rescuer = start_worker(cy, "--lease", "3", "--max-jobs", "1", env={"HANG_MARKER": str(marker)})
    finish(rescuer, 120)
    [job] = jobs_on(ada.path, "origin")
    assert job["state"] == "done" and job["attempt"] == 2
    lost = job["attempts"][0]
    assert lost["outcome"] == "lost" and lost["worker"].split(":")[1] == str(doomed.pid)
    assert job["attempts"][1]["outcome"] == "done" and job["result"]["exit_code"] == 0
    ada.run("pull")
    [run] = runs_of(ada.path)
    assert run["id"] == job["result"]["run"] and run["console"]["facts"]["score"] == 42


@pytest.mark.slow
def test_ctrl_c_requeues_or_finishes_the_running_job(repo: Path, tmp_path: Path) -> None:
    add_script(repo)
    marker = tmp_path / "hang.pid"
    gitrun(repo, "queue", "add", "--", "python", "train.py", "--a", "1")
    env = {**os.environ, "HANG_MARKER": str(marker)}
    worker = subprocess.Popen([sys.executable, "-m", "gitrun", "worker", "--on-interrupt", "requeue", "--poll", "0.2"],
                              cwd=repo, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wait_until(marker.exists, 60, "the job to start")
    worker.send_signal(signal.SIGINT)
    out, _ = worker.communicate(timeout=60)
    assert worker.returncode == 130, out
    [job] = jobs_on(repo)
    assert job["state"] == "queued" and job["attempts"][0]["outcome"] == "interrupted", out
    [run] = runs_of(repo)
    assert run["status"] == "interrupted"  # the interrupted attempt is recorded too
    # the default: Ctrl-C lets the running job finish (the marker exists: this attempt does not hang)
    worker = subprocess.Popen([sys.executable, "-m", "gitrun", "worker", "--poll", "0.2"], cwd=repo, env=env,
                              text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wait_until(lambda: len(runs_of(repo)) == 2, 60, "the second attempt to start")
    worker.send_signal(signal.SIGINT)
    out, _ = worker.communicate(timeout=60)
    [job] = jobs_on(repo)
    assert job["state"] == "done" and job["result"]["exit_code"] == 0, out
