"""``git run sweep``: queue one job per trial of a parameter sweep; ``sweep show``/``ls``; the runs
of a sweep with the best one marked (``git run list --sweep S``).

The sweep's code is a run's snapshot (``git run sweep RUN``) or the working tree as it is now
(``git run sweep --grid ... -- CMD``, ``git run sweep --file sweep.yaml``), captured like a run's
(the user's index and files are never touched). The sweep and its jobs are written together; with
``--run`` or ``-j N`` local workers run them right away.
"""

from __future__ import annotations

import json
import math
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitrun.capture.params import parse_param_text, read_param_text
from gitrun.commands.context import Context, open_context
from gitrun.commands.output import output_width, short_ids, table
from gitrun.errors import UsageError
from gitrun.model import sweep as sw
from gitrun.model.ids import new_run_id
from gitrun.model.job import JobSpec, Value, inputs_to_link, spec_from_run
from gitrun.model.run import Run
from gitrun.model.timefmt import to_iso, utc_now
from gitrun.store.sweeps import SWEEP_FORMAT, list_sweeps, resolve_sweep, save_sweep, sweep_ref


@dataclass
class SweepRequest:
    """What ``git run sweep`` was asked (the cli fills it from its options)."""

    reference: str | None = None  # RUN
    command: Sequence[str] = ()  # after --
    grid: Sequence[str] = ()
    params: Sequence[str] = ()
    random_count: int | None = None
    seed: int = 0
    metric: str | None = None
    goal: str = sw.MINIMIZE
    file: Path | None = None
    name: str | None = None
    tags: Sequence[str] = ()
    env: str = "current"
    remote: str | None = None
    run_now: bool = False
    processes: int = 1
    quiet: bool = False


def sweep_command(request: SweepRequest) -> int:
    from gitrun.commands.queue import enqueue, job_documents, new_job_ids
    from gitrun.runner.recorder import current_user

    ctx = open_context()
    spec = _spec(request)
    sweep_id = new_run_id()
    name = request.name or spec.name
    base_run, snapshot, cwd = _base(ctx, request)
    trials = sw.expand(spec)
    job_ids = new_job_ids(len(trials))
    label = name or sweep_id[:10]
    specs = [_job_spec(spec, trial, base_run, snapshot, cwd, request, sweep_id, job_id, label)
             for trial, job_id in zip(trials, job_ids, strict=True)]
    remote = None
    if request.remote is not None:
        from gitrun.commands.share import resolve_remote

        remote = resolve_remote(ctx, request.remote)
    doc: dict[str, Any] = {
        "format": SWEEP_FORMAT, "id": sweep_id, "name": name, "created": to_iso(utc_now()),
        "created_by": f"{current_user()}@{socket.gethostname()}", "snapshot": str(snapshot),
        "base_run": base_run.id if base_run else None, "cwd": cwd, "source": "wandb" if request.file else "cli",
        "jobs": job_ids, "remote": remote, "spec": spec.to_dict(),
    }
    sweep_commit = save_sweep(ctx.repo, doc, snapshot)
    docs = job_documents(specs, job_ids, sweep_id, [dict(trial) for trial in trials],
                         inputs=inputs_to_link(base_run.doc) if base_run else ())
    enqueue(ctx, docs, remote, {sweep_ref(sweep_id): sweep_commit})
    where = f" on {remote}" if remote else ""
    names = ", ".join(parameter.name for parameter in spec.parameters)
    print(f"gitrun: sweep {sweep_id[:10]}{' (' + name + ')' if name else ''}: {len(job_ids)} job(s) queued{where} "
          f"({spec.method} over {names})")
    for ignored in spec.ignored:
        print(f"gitrun: note: the sweep file's '{ignored}' is not acted on by gitrun", file=sys.stderr)
    if not (request.run_now or request.processes > 1):
        worker = "git run worker" + (f" --remote {remote}" if remote else "")
        print(f"gitrun: run them with `{worker}` (or `{worker} -j N`); see them with `git run sweep show "
              f"{sweep_id[:10]}`")
        return 0
    return _run_now(ctx, request, sweep_id, remote)


def _spec(request: SweepRequest) -> sw.SweepSpec:
    if request.file is not None:
        if request.grid or request.params or request.command or request.reference:
            raise UsageError("a sweep file says everything: give --file alone (with --count, --seed, --name)")
        return sw.wandb_sweep(_load_sweep_file(request.file), request.seed, request.random_count)
    return sw.cli_sweep(request.grid, request.params, request.random_count, request.seed, request.metric,
                        request.goal, request.command)


def _load_sweep_file(path: Path) -> Any:
    """The sweep file's data, parsed like every config file: at most 1 MiB, 64 levels, 5 s, no alias bomb."""
    try:
        text = read_param_text(path)
    except OSError as err:
        raise UsageError(f"cannot read the sweep file {path}: {err.strerror}")
    except (UnicodeDecodeError, ValueError) as err:
        raise UsageError(f"the sweep file {path} is not read: {err}")
    try:
        return parse_param_text(text, ".json" if path.suffix.lower() == ".json" else ".yaml")
    except ValueError as err:
        raise UsageError(f"the sweep file {path} is not valid YAML/JSON: {str(err).splitlines()[0]}")


def _base(ctx: Context, request: SweepRequest) -> tuple[Run | None, str, str]:
    """The run swept (if any), the snapshot commit every trial runs, and the folder it runs in."""
    if request.reference is not None:
        if request.command:
            raise UsageError("give a run or a command after --, not both")
        run = ctx.store.get(ctx.store.resolve(request.reference).id)
        if not run.command:
            raise UsageError(f"run {run.id[:10]} recorded no command", hint="sweep a run of `git run -- CMD`")
        return run, run.snapshot_commit, str(run.doc.get("cwd") or ".")
    from gitrun.commands.queue import snapshot_working_state
    from gitrun.runner.recorder import relative_cwd

    if not request.command and request.file is None:
        raise UsageError("what to sweep?", hint="git run sweep RUN --grid lr=0.1,0.01, or git run sweep --grid "
                                               "lr=0.1,0.01 -- python train.py, or git run sweep --file sweep.yaml")
    return None, snapshot_working_state(ctx), relative_cwd(ctx.store, ctx.cwd)


def _job_spec(spec: sw.SweepSpec, trial: sw.Trial, base_run: Run | None, snapshot: str, cwd: str,
              request: SweepRequest, sweep_id: str, job_id: str, label: str) -> JobSpec:
    links = {"sweep": sweep_id, "job": job_id}
    message = f"sweep {label}: " + " ".join(f"{key}={sw.format_value(value)}" for key, value in trial)
    env = request.env
    if base_run is not None:
        links["parent"] = base_run.id
        return spec_from_run(base_run, overrides=sw.overrides(trial), links=links, env=env,  # type: ignore[arg-type]
                             tags=request.tags, message=message)
    if env == "venv":
        raise UsageError("--env venv needs a recorded run to take the packages from", hint="git run sweep RUN ...")
    overrides: tuple[tuple[str, Value], ...] = ()
    if spec.template:
        command = sw.render_command(spec, trial)
    else:
        command, overrides = list(spec.command), tuple(sw.overrides(trial))
    return JobSpec(snapshot=str(snapshot), command=tuple(command), overrides=overrides, env="current",
                   links=tuple(links.items()), tags=tuple(request.tags), message=message, cwd=cwd)


def _run_now(ctx: Context, request: SweepRequest, sweep_id: str, remote: str | None) -> int:
    from gitrun.commands.worker import WorkerOptions, run_worker_here

    options = WorkerOptions(processes=max(1, request.processes), remote=remote, once=True, sweep=sweep_id,
                            quiet=request.quiet)
    shared = run_worker_here(ctx, options)
    if remote is not None:
        from gitrun.commands.share import pull_command

        pull_command(remote)  # the runs the workers pushed
    print()
    show_sweep(open_context(recover=False), sweep_id)
    failed = [o for o in shared.outcomes if o.exit_code != 0 and not o.requeued]
    if shared.interrupt_jobs.is_set():
        return 130
    return 1 if failed else 0


# --- reading a sweep -------------------------------------------------------------------------------

@dataclass
class SweepRuns:
    doc: dict[str, Any]
    spec: sw.SweepSpec
    runs: list[Run]  # oldest first
    values: list[float | None]  # the metric of each run
    best: int | None


def sweep_runs(ctx: Context, sweep_id: str) -> SweepRuns:
    doc = resolve_sweep(ctx.repo, sweep_id)
    spec = sw.SweepSpec.from_dict(doc.get("spec", {}))
    runs = ctx.store.index.runs_linked("sweep", str(doc["id"]))
    order = {job_id: index for index, job_id in enumerate(doc.get("jobs", []))}
    runs.sort(key=lambda run: (order.get(str(run.doc.get("job")), len(order)), run.id))  # trial order, then retries
    values: list[float | None] = [sw.metric_value(run.doc, spec.metric.name) if spec.metric else None
                                  for run in runs]
    best = sw.best_index(values, spec.metric) if spec.metric else None
    return SweepRuns(doc, spec, runs, values, best)


def show_sweep(ctx: Context, reference: str, as_json: bool = False) -> int:
    found = sweep_runs(ctx, reference)
    if as_json:
        print(json.dumps(_sweep_json(found), indent=2))
        return 0
    doc, spec = found.doc, found.spec
    title = f"sweep {doc['id']}" + (f" ({doc['name']})" if doc.get("name") else "")
    metric = f"{spec.metric.goal} {spec.metric.name}" if spec.metric else "no metric (give --metric)"
    jobs = doc.get("jobs", [])
    print(f"{title}: {spec.method}, {len(jobs)} job(s), {len(found.runs)} run(s); {metric}")
    if not found.runs:
        print("no runs yet: `git run worker` runs the queued jobs" + (" (then `git run pull`)" if doc.get("remote")
                                                                      else ""))
        return 0
    print(runs_table(found))
    if found.best is not None and spec.metric is not None:
        best = found.runs[found.best]
        print(f"best: {best.id[:10]} {best.name}  {spec.metric.name} = {_number(found.values[found.best])}  "
              f"({' '.join(f'{k}={sw.format_value(v)}' for k, v in _trial_of(best, spec))})")
    return 0


def runs_table(found: SweepRuns) -> str:
    names = [parameter.name for parameter in found.spec.parameters]
    metric = found.spec.metric.name if found.spec.metric else None
    ids = short_ids(found.runs)
    rows = []
    for index, run in enumerate(found.runs):
        trial = dict(_trial_of(run, found.spec))
        row = ["★" if index == found.best else "", ids[run.id], run.name, run.status]
        row += [sw.format_value(trial[name]) if name in trial else "-" for name in names]
        if metric:
            row.append(_number(found.values[index]))
        rows.append(row)
    headers = ["", "id", "name", "status", *names] + ([metric] if metric else [])
    return table(rows, headers, output_width())


def _trial_of(run: Run, spec: sw.SweepSpec) -> list[tuple[str, Any]]:
    """The run's trial values: its overrides, else its recorded parameters of the swept names."""
    overrides = run.doc.get("overrides")
    params = run.doc.get("params")
    found = []
    for parameter in spec.parameters:
        for source in (overrides, params):
            if isinstance(source, dict) and parameter.name in source:
                found.append((parameter.name, source[parameter.name]))
                break
    return found


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.6g}"


def _sweep_json(found: SweepRuns) -> dict[str, Any]:
    runs = []
    for index, run in enumerate(found.runs):
        runs.append({"id": run.id, "name": run.name, "status": run.status, "params": dict(_trial_of(run, found.spec)),
                     "metric": found.values[index], "best": index == found.best})
    return {"sweep": found.doc, "runs": runs,
            "best": found.runs[found.best].id if found.best is not None else None}


def list_sweep_runs(reference: str, as_json: bool) -> int:
    """``git run list --sweep S``."""
    return show_sweep(open_context(), reference, as_json)


def sweep_show_command(reference: str, as_json: bool) -> int:
    return show_sweep(open_context(), reference, as_json)


def sweep_ls_command(as_json: bool) -> int:
    ctx = open_context(recover=False)
    sweeps, problems = list_sweeps(ctx.repo)
    if as_json:
        print(json.dumps(sweeps, indent=2))
        return 0
    for problem in problems:
        print(f"gitrun: warning: {problem}", file=sys.stderr)
    if not sweeps:
        print("no sweeps yet: `git run sweep --grid NAME=A,B -- CMD` starts one")
        return 0
    rows = []
    for doc in sweeps:
        spec = doc.get("spec", {})
        metric = spec.get("metric", {})
        rows.append([str(doc["id"])[:10], str(doc.get("name") or ""), str(spec.get("method", "")),
                     str(len(doc.get("jobs", []))), f"{metric.get('goal', '')} {metric.get('name', '')}".strip(),
                     str(doc.get("created", ""))[:19].replace("T", " ")])
    print(table(rows, ["sweep", "name", "method", "jobs", "metric", "created"], output_width()))
    return 0


__all__ = ["SweepRequest", "list_sweep_runs", "show_sweep", "sweep_command", "sweep_ls_command",
           "sweep_show_command"]
