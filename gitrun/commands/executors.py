"""``git run worker --submit slurm|ray|k8s``: start workers on machines an existing engine provides.

gitrun has no scheduler of its own. Every executor starts the same thing on each machine:
``git run worker --clone URL --once``, a worker in a fresh temporary repository whose ``origin``
is the team's remote. It claims jobs there by compare-and-swap, fetches each job's snapshot commit
with it (no shared filesystem needed), pushes each run back, and exits when the queue is empty.

* slurm: a job array through submitit (``gitrun[slurm]``), or with ``--dry-run`` an ``sbatch``
  script to submit yourself;
* ray: one Ray task per worker on an existing cluster (``gitrun[ray]``, ``--address``);
* k8s: an indexed Job manifest for ``kubectl apply -f`` (``--image`` must have git and gitrun).

The heavy packages are imported here only, when their executor is used.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitrun.commands.worker import WorkerOptions
from gitrun.errors import UsageError
from gitrun.store.git import open_repository, run_git


@dataclass
class SubmitRequest:
    kind: str  # slurm | ray | k8s
    count: int
    options: WorkerOptions
    dry_run: bool = False
    address: str | None = None
    image: str | None = None
    url: str | None = None
    output: Path | None = None
    slurm_options: Sequence[str] = field(default_factory=tuple)
    wait: bool = False


def worker_argv(url: str, options: WorkerOptions) -> list[str]:
    """The arguments of ``git run worker`` each remote worker runs (after ``git run``)."""
    args = ["worker", "--clone", url, "--once", "--lease", f"{options.lease_s:g}"]
    if options.processes > 1:
        args += ["-j", str(options.processes)]
    if options.env:
        args += ["--env", options.env]
    if options.max_jobs is not None:
        args += ["--max-jobs", str(options.max_jobs)]
    if options.sweep:
        args += ["--sweep", options.sweep]
    return args


def remote_url(request: SubmitRequest) -> str:
    """The URL the workers clone: --url, else the remote's own URL."""
    if request.url:
        return request.url
    _repo, paths = open_repository()
    remote = request.options.remote or "origin"
    found = run_git(["remote", "get-url", remote], paths.workdir, check=False)
    if found.returncode != 0:
        raise UsageError(f"no remote named '{remote}'", hint="give --remote NAME or --url URL")
    url = found.text.strip()
    if "://" not in url and ":" not in url.split("/")[0]:
        print(f"gitrun: warning: {url} is a local path; the workers' machines must see it at that path",
              file=sys.stderr)
    return url


def submit_command(request: SubmitRequest) -> int:
    url = remote_url(request)
    argv = worker_argv(url, request.options)
    if request.kind == "slurm":
        return submit_slurm(request, argv)
    if request.kind == "ray":
        return submit_ray(request, argv)
    return write_k8s(request, argv)


def _write(text: str, output: Path | None, what: str) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text)
    print(f"gitrun: wrote {what} to {output}", file=sys.stderr)


# --- slurm -----------------------------------------------------------------------------------------

def _slurm_parameters(pairs: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for text in pairs:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--slurm-option {text!r}: expected KEY=VALUE", hint="e.g. --slurm-option partition=gpu")
        found[key.strip()] = value.strip()
    return found


def sbatch_script(argv: Sequence[str], count: int, parameters: dict[str, str]) -> str:
    lines = ["#!/bin/bash", "#SBATCH --job-name=gitrun-worker", f"#SBATCH --array=0-{count - 1}",
             "#SBATCH --output=gitrun-worker-%A_%a.out"]
    lines += [f"#SBATCH --{key.replace('_', '-')}={value}" for key, value in parameters.items()]
    lines += ["set -eu", "# each array task: a worker in a fresh repository cloned from the team's remote",
              "exec git run " + " ".join(shlex.quote(arg) for arg in argv), ""]
    return "\n".join(lines)


def submit_slurm(request: SubmitRequest, argv: Sequence[str]) -> int:
    parameters = _slurm_parameters(request.slurm_options)
    if request.dry_run:
        _write(sbatch_script(argv, request.count, parameters), request.output, "the sbatch script")
        return 0
    try:
        import submitit
    except ImportError:
        raise UsageError("--submit slurm needs submitit", hint="pip install 'gitrun[slurm]', or use --dry-run to "
                                                               "write an sbatch script")
    cluster = parameters.pop("cluster", None)  # "local" or "debug": submitit's stand-ins for a laptop
    folder = Path(parameters.pop("folder", "gitrun-slurm-logs")).absolute()
    executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
    executor.update_parameters(name="gitrun-worker", slurm_array_parallelism=request.count,
                               **{_submitit_key(key, cluster): _number_or_text(value)
                                  for key, value in parameters.items()})
    jobs = executor.map_array(run_worker_process, [list(argv)] * request.count)
    print(f"gitrun: submitted {len(jobs)} worker(s): {', '.join(str(job.job_id) for job in jobs)} (logs in {folder})")
    if request.wait or cluster in ("local", "debug"):
        codes = [job.result() for job in jobs]
        return _summary(codes)
    return 0


def _submitit_key(key: str, cluster: str | None) -> str:
    """``partition`` -> ``slurm_partition``; submitit's generic names (``timeout_min``, ``gpus_per_node``,
    ``cpus_per_task``, ``mem_gb``) pass as they are."""
    generic = {"timeout_min", "gpus_per_node", "cpus_per_task", "mem_gb", "nodes", "tasks_per_node", "name"}
    if key in generic or key.startswith("slurm_") or key.startswith("local_"):
        return key
    return f"{'local' if cluster == 'local' else 'slurm'}_{key}"


def _number_or_text(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        return value


def run_worker_process(argv: list[str]) -> int:
    """What each remote task runs: ``git run WORKER-ARGS`` as a child process (its own Python, so a
    task's signals and exit reach the worker as they would from a shell)."""
    proc = subprocess.run([sys.executable, "-m", "gitrun", *argv], check=False)
    return proc.returncode


def _summary(codes: Sequence[int]) -> int:
    failed = [code for code in codes if code not in (0, 1)]
    print(f"gitrun: {len(codes)} worker(s) finished" + (f", {len(failed)} with errors" if failed else ""))
    return 0 if not failed else 1


# --- ray -------------------------------------------------------------------------------------------

def submit_ray(request: SubmitRequest, argv: Sequence[str]) -> int:
    try:
        import ray
    except ImportError:
        raise UsageError("--submit ray needs ray", hint="pip install 'gitrun[ray]'")
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=request.address, log_to_driver=not request.options.quiet)
    try:
        task = ray.remote(num_cpus=1)(run_worker_process)
        refs = [task.remote(list(argv)) for _ in range(request.count)]
        print(f"gitrun: started {len(refs)} worker(s) as Ray tasks", file=sys.stderr)
        return _summary(ray.get(refs))
    finally:
        if started_here:
            ray.shutdown()


# --- kubernetes ------------------------------------------------------------------------------------

def k8s_manifest(argv: Sequence[str], count: int, image: str, name: str = "gitrun-worker") -> dict[str, Any]:
    """An indexed Job: ``count`` pods, each a worker; a pod that fails is not retried (its job's lease
    expires and another worker takes the job)."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "gitrun-worker"}},
        "spec": {
            "completionMode": "Indexed",
            "completions": count,
            "parallelism": count,
            "backoffLimit": count,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "gitrun-worker"}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{
                        "name": "worker",
                        "image": image,
                        "command": ["git", "run", *argv],
                        "env": [{"name": "GITRUN_WORKER_INDEX", "valueFrom": {"fieldRef": {
                            "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}}],
                    }],
                },
            },
        },
    }


def write_k8s(request: SubmitRequest, argv: Sequence[str]) -> int:
    import yaml

    if not request.image:
        raise UsageError("--submit k8s needs --image", hint="an image with git, Python and gitrun installed")
    manifest = k8s_manifest(argv, request.count, request.image)
    text = "# kubectl apply -f this file; each pod runs a gitrun worker\n" + yaml.safe_dump(manifest, sort_keys=False)
    _write(text, request.output, "the Kubernetes Job manifest")
    return 0
