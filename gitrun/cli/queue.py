"""Subcommands for sweeps, the queue and workers: sweep, queue add/ls/rm, worker (and job-exec)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gitrun.cli.group import COMMAND_KEY, cli

ENV_CHOICE = click.Choice(["current", "venv"])


def _command_after_dashes() -> list[str]:
    return list(click.get_current_context().meta.get(COMMAND_KEY) or [])


@cli.command("sweep", context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, metavar="[RUN | show SWEEP | ls]")
@click.option("--grid", "grid", multiple=True, metavar="NAME=V1,V2",
              help="A parameter and its values (repeatable); every combination is a job.")
@click.option("--param", "params", multiple=True, metavar="NAME=DIST:...",
              help="A parameter drawn at random: uniform:LOW:HIGH, loguniform:LOW:HIGH, int:LOW:HIGH, "
                   "normal:MU:SIGMA, choice:A,B (with --random N).")
@click.option("--random", "random_count", type=click.IntRange(min=1), default=None, metavar="N",
              help="Draw N random trials instead of the whole grid.")
@click.option("--count", "count", type=click.IntRange(min=1), default=None, metavar="N",
              help="With --file: the number of trials (W&B's `wandb agent --count`).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random draws.")
@click.option("--metric", default=None, metavar="NAME", help="The metric that ranks the runs.")
@click.option("--goal", type=click.Choice(["minimize", "maximize", "min", "max"]), default="minimize",
              show_default=True, help="Whether a lower or a higher metric is better.")
@click.option("--file", "-f", "sweep_file", type=click.Path(path_type=Path), default=None,
              help="A sweep file in the W&B format (method grid or random, metric, parameters, command).")
@click.option("--name", default=None, help="A name for the sweep.")
@click.option("--tag", "tags", multiple=True, help="A tag for every run of the sweep (repeatable).")
@click.option("--env", type=ENV_CHOICE, default="current", show_default=True,
              help="current: the worker's interpreter; venv: rebuilt from RUN's recorded packages.")
@click.option("--remote", default=None, metavar="REMOTE", help="Queue the jobs on REMOTE for shared workers.")
@click.option("--run", "run_now", is_flag=True, help="Run the jobs here now (one worker process).")
@click.option("-j", "processes", type=click.IntRange(min=1), default=1, metavar="N",
              help="Run the jobs here now with N workers.")
@click.option("--json", "as_json", is_flag=True, help="show/ls: print JSON.")
@click.option("-q", "--quiet", is_flag=True, help="Fewer messages from the workers.")
def sweep_cmd(args: tuple[str, ...], grid: tuple[str, ...], params: tuple[str, ...], random_count: int | None,
              count: int | None, seed: int, metric: str | None, goal: str, sweep_file: Path | None,
              name: str | None, tags: tuple[str, ...], env: str, remote: str | None, run_now: bool, processes: int,
              as_json: bool, quiet: bool) -> None:
    """Sweep parameters: one queued job per trial, its runs linked to the sweep.

    \b
    git run sweep --grid lr=0.1,0.01 --grid depth=6,12 --metric loss -j 2 -- python train.py
    git run sweep RUN --random 20 --param lr=loguniform:1e-5:1e-1 --metric acc --goal max
    git run sweep --file sweep.yaml --run          (a W&B sweep file)
    git run sweep show SWEEP                       (its runs, the best marked)
    git run sweep ls
    """
    from gitrun.commands import sweep

    if args and args[0] == "show":
        if len(args) != 2:
            raise click.UsageError("usage: git run sweep show SWEEP")
        sys.exit(sweep.sweep_show_command(args[1], as_json))
    if args and args[0] == "ls":
        sys.exit(sweep.sweep_ls_command(as_json))
    if len(args) > 1:
        raise click.UsageError("give one RUN; put the command after --: git run sweep [OPTIONS] -- CMD")
    if count is not None and sweep_file is None:
        raise click.UsageError("--count is for sweep files; use --random N on the command line")
    request = sweep.SweepRequest(
        reference=args[0] if args else None, command=_command_after_dashes(), grid=grid, params=params,
        random_count=count if sweep_file is not None else random_count, seed=seed, metric=metric, goal=goal,
        file=sweep_file, name=name, tags=tags, env=env, remote=remote, run_now=run_now, processes=processes,
        quiet=quiet)
    sys.exit(sweep.sweep_command(request))


@cli.group("queue")
def queue_group() -> None:
    """The jobs waiting for workers (here, or on a shared remote with --remote)."""


@queue_group.command("add")
@click.argument("run", required=False)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a parameter (repeatable).")
@click.option("--remote", default=None, metavar="REMOTE", help="Queue it on REMOTE.")
@click.option("--env", type=ENV_CHOICE, default="current", show_default=True)
@click.option("--name", default=None, help="The name of the run it records.")
@click.option("--tag", "tags", multiple=True, help="A tag for the run (repeatable).")
@click.option("-m", "--message", default="", help="The run's message.")
def queue_add_cmd(run: str | None, sets: tuple[str, ...], remote: str | None, env: str, name: str | None,
                  tags: tuple[str, ...], message: str) -> None:
    """Queue RUN again (with --set overrides), or the command after -- on the working tree as it is.

    \b
    git run queue add RUN --set lr=0.001
    git run queue add -- python train.py --lr 0.01
    """
    from gitrun.commands.queue import queue_add_command

    sys.exit(queue_add_command(run, _command_after_dashes(), sets, remote, env, name, tags, message))


@queue_group.command("ls")
@click.option("--remote", default=None, metavar="REMOTE", help="The queue on REMOTE (fetched first).")
@click.option("--all", "show_all", is_flag=True, help="Finished jobs too.")
@click.option("--sweep", default=None, metavar="SWEEP", help="Only this sweep's jobs.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def queue_ls_cmd(remote: str | None, show_all: bool, sweep: str | None, as_json: bool) -> None:
    """List queued and running jobs (oldest first)."""
    from gitrun.commands.queue import queue_ls_command

    sys.exit(queue_ls_command(remote, show_all, sweep, as_json))


@queue_group.command("rm")
@click.argument("jobs", nargs=-1)
@click.option("--remote", default=None, metavar="REMOTE")
@click.option("--sweep", default=None, metavar="SWEEP", help="Every job of this sweep.")
@click.option("--done", is_flag=True, help="Every finished job.")
@click.option("--force", is_flag=True, help="Remove running jobs too.")
def queue_rm_cmd(jobs: tuple[str, ...], remote: str | None, sweep: str | None, done: bool, force: bool) -> None:
    """Remove jobs from the queue (the runs they recorded stay)."""
    from gitrun.commands.queue import queue_rm_command

    sys.exit(queue_rm_command(jobs, remote, sweep, done, force))


@cli.command("worker")
@click.option("-j", "processes", type=click.IntRange(min=1), default=1, metavar="N",
              help="Run N jobs at a time.")
@click.option("--remote", default=None, metavar="REMOTE",
              help="Claim jobs from REMOTE's queue and push each run there.")
@click.option("--env", type=ENV_CHOICE, default=None, help="Override each job's environment mode.")
@click.option("--once", is_flag=True, help="Exit when no job is left, instead of waiting for new ones.")
@click.option("--clone", default=None, metavar="URL",
              help="Work in a fresh temporary repository whose origin is URL (what cluster workers run).")
@click.option("--max-jobs", type=click.IntRange(min=1), default=None, metavar="K", help="Exit after K jobs.")
@click.option("--sweep", default=None, metavar="SWEEP", help="Only this sweep's jobs.")
@click.option("--lease", "lease_s", type=click.FloatRange(min=1), default=120, show_default=True, metavar="SECONDS",
              help="How long a claim holds without renewal (renewed every third of it).")
@click.option("--poll", "poll_s", type=click.FloatRange(min=0.1), default=5, show_default=True, metavar="SECONDS",
              help="How often an idle worker looks for new jobs.")
@click.option("--on-interrupt", type=click.Choice(["finish", "requeue"]), default="finish", show_default=True,
              help="Ctrl-C: let the running jobs finish, or interrupt them and put them back in the queue.")
@click.option("--submit", type=click.Choice(["slurm", "ray", "k8s"]), default=None,
              help="Start -n workers elsewhere: a Slurm job array, Ray tasks, a Kubernetes indexed Job.")
@click.option("-n", "count", type=click.IntRange(min=1), default=1, show_default=True,
              help="--submit: how many workers.")
@click.option("--dry-run", is_flag=True, help="--submit slurm: write the sbatch script instead of submitting.")
@click.option("--address", default=None, help="--submit ray: the cluster (ray.init(address=...)); default auto.")
@click.option("--image", default=None, help="--submit k8s: the worker image (with git and gitrun installed).")
@click.option("--url", default=None, help="--submit: the URL workers clone (default: REMOTE's URL).")
@click.option("--output", "-o", "output", type=click.Path(path_type=Path), default=None,
              help="--submit k8s/--dry-run: where to write the manifest or script (default: stdout).")
@click.option("--slurm-option", "slurm_options", multiple=True, metavar="KEY=VALUE",
              help="--submit slurm: a Slurm parameter (partition=gpu, time=60, gpus_per_node=1...).")
@click.option("-q", "--quiet", is_flag=True, help="Fewer messages.")
def worker_cmd(processes: int, remote: str | None, env: str | None, once: bool, clone: str | None,
               max_jobs: int | None,
               sweep: str | None, lease_s: float, poll_s: float, on_interrupt: str, submit: str | None, count: int,
               dry_run: bool, address: str | None, image: str | None, url: str | None, output: Path | None,
               slurm_options: tuple[str, ...], quiet: bool) -> None:
    """Run queued jobs: here (-j N processes), from a shared remote (--remote), or on a cluster (--submit).

    \b
    git run worker -j 4                       (this repository's queue)
    git run worker --remote origin --once     (a shared queue; exit when it is empty)
    git run worker --submit slurm -n 8 --remote origin
    git run worker --submit ray -n 8 --remote origin --address auto
    git run worker --submit k8s -n 8 --remote origin --image ghcr.io/me/train:latest -o job.yaml
    """
    from gitrun.commands.worker import WorkerOptions

    options = WorkerOptions(processes=processes, remote=remote, env=env, once=once, max_jobs=max_jobs,
                            lease_s=lease_s, poll_s=poll_s, sweep=sweep, on_interrupt=on_interrupt, quiet=quiet,
                            clone=clone)
    if submit is not None:
        from gitrun.commands.executors import SubmitRequest, submit_command

        sys.exit(submit_command(SubmitRequest(kind=submit, count=count, options=options, dry_run=dry_run,
                                              address=address, image=image, url=url, output=output,
                                              slurm_options=slurm_options)))
    from gitrun.commands.worker import worker_command

    sys.exit(worker_command(options))


@cli.command("job-exec", hidden=True)
@click.argument("commit")
@click.option("--job-id", required=True)
@click.option("--result-file", type=click.Path(path_type=Path), required=True)
@click.option("--env", type=ENV_CHOICE, default=None)
@click.option("--quiet", is_flag=True)
def job_exec_cmd(commit: str, job_id: str, result_file: Path, env: str | None, quiet: bool) -> None:
    """Run one claimed job (started by `git run worker`)."""
    from gitrun.commands.worker import job_exec_command

    sys.exit(job_exec_command(commit, job_id, result_file, env, quiet))
