"""Executors: the same 12 jobs through submitit's local executor and a real local Ray instance,
every result on the git daemon remote; the Kubernetes manifest and the sbatch script as written."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

from tests.conftest import gitrun
from tests.remote_helpers import Server, make_user, server_fixture  # noqa: F401
from tests.test_workers import check_every_job_ran_once, twelve_job_sweep

URL = "https://git.example.com/team/project.git"


def test_the_kubernetes_manifest_is_an_indexed_job_of_workers(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "job.yaml"
    gitrun(repo, "worker", "--submit", "k8s", "-n", "8", "--url", URL, "--image", "ghcr.io/team/train:1",
           "--lease", "300", "-o", str(out))
    manifest = yaml.safe_load(out.read_text())
    assert manifest["apiVersion"] == "batch/v1" and manifest["kind"] == "Job"
    spec = manifest["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == 8 and spec["parallelism"] == 8
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    [container] = pod["containers"]
    assert container["image"] == "ghcr.io/team/train:1"
    assert container["command"] == ["git", "run", "worker", "--clone", URL, "--once", "--lease", "300"]


def test_kubernetes_needs_an_image(repo: Path) -> None:
    proc = gitrun(repo, "worker", "--submit", "k8s", "--url", URL, check=False)
    assert proc.returncode == 2 and "--submit k8s needs --image" in proc.stderr


def test_the_sbatch_script_runs_one_worker_per_array_task(repo: Path) -> None:
    proc = gitrun(repo, "worker", "--submit", "slurm", "-n", "8", "--dry-run", "--url", URL,
                  "--slurm-option", "partition=gpu", "--slurm-option", "gpus_per_node=1", "--env", "current")
    lines = proc.stdout.splitlines()
    assert lines[0] == "#!/bin/bash"
    for line in ("#SBATCH --array=0-7", "#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=1"):
        assert line in lines
    command = shlex.split(lines[-1])
    assert command[:6] == ["exec", "git", "run", "worker", "--clone", URL]
    assert "--once" in command and command[command.index("--env") + 1] == "current"


def test_a_worker_url_defaults_to_the_remote_s(server: Server, tmp_path: Path) -> None:
    ada = make_user(server, tmp_path, "Ada", seed=True)
    proc = ada.run("worker", "--submit", "slurm", "--dry-run", "--remote", "origin")
    assert f"--clone {server.url} --once" in proc.stdout


@pytest.mark.slow
def test_twelve_jobs_through_submitit_s_local_executor(server: Server, tmp_path: Path) -> None:
    pytest.importorskip("submitit")
    ada, sweep = twelve_job_sweep(server, tmp_path)
    proc = ada.run("worker", "--submit", "slurm", "-n", "3", "--remote", "origin", "--lease", "60",
                   "--slurm-option", "cluster=local", "--slurm-option", f"folder={tmp_path / 'logs'}",
                   "--slurm-option", "timeout_min=10")
    assert "3 worker(s) finished" in proc.stdout, proc.stdout + proc.stderr
    check_every_job_ran_once(server, ada, sweep)


@pytest.mark.slow
def test_twelve_jobs_through_a_local_ray_cluster(server: Server, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    ada, sweep = twelve_job_sweep(server, tmp_path)
    proc = ada.run("worker", "--submit", "ray", "-n", "3", "--remote", "origin", "--lease", "60", "-q")
    assert "3 worker(s) finished" in proc.stdout, proc.stdout + proc.stderr
    check_every_job_ran_once(server, ada, sweep)
