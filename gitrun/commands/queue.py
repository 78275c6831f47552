"""``git run queue add|ls|rm``: the jobs waiting for workers, in this repository or on a remote.

Jobs are created here and by ``git run sweep``; ``enqueue`` (``store.queue.enqueue_jobs``) is the one
place that writes new ones.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from gitrun.commands.context import Context, open_context
from gitrun.commands.output import output_width, table
from gitrun.errors import UsageError
from gitrun.model import queue as q
from gitrun.model.ids import new_run_id
from gitrun.model.job import JobSpec, as_overrides, inputs_to_link, parse_assignment, spec_from_run, value_text
from gitrun.model.redaction import redact_argv
from gitrun.model.timefmt import human_age, utc_now
from gitrun.runner.recorder import current_user, relative_cwd
from gitrun.store.commits import write_commit
from gitrun.store.queue import (
    Job,
    LocalQueue,
    QueueRefs,
    RemoteQueue,
    enqueue_jobs,
    list_jobs,
)


def new_job_ids(count: int) -> list[str]:
    """Ids that sort in the order given (jobs are taken oldest id first)."""
    start = int(utc_now().timestamp() * 1000)
    return [new_run_id(now_ms=start + index) for index in range(count)]


def check_no_secret(command: Sequence[str]) -> None:
    """A queued command is published with the queue: refuse one that carries a secret."""
    _, found = redact_argv(list(command))
    if found:
        raise UsageError(f"the command holds what looks like a secret ({found[0][0]})",
                         hint="pass it through an environment variable the job reads instead")


def job_documents(specs: Sequence[JobSpec], ids: Sequence[str], sweep: str | None = None,
                  params: Sequence[Mapping[str, Any] | None] | None = None,
                  inputs: Sequence[str] = ()) -> list[dict[str, Any]]:
    created_by = f"{current_user()}@{socket.gethostname()}"
    now = utc_now()
    docs = []
    for index, (spec, job_id) in enumerate(zip(specs, ids, strict=True)):
        check_no_secret([*spec.command, *(f"{key}={value_text(value)}" for key, value in spec.overrides)])
        doc = q.new_job(job_id, spec.to_dict(), now, created_by, sweep, params[index] if params else None)
        if inputs:
            doc["inputs"] = list(inputs)
        docs.append(doc)
    return docs


def enqueue(ctx: Context, docs: Sequence[dict[str, Any]], remote: str | None,
            extra_refs: Mapping[str, str] | None = None) -> None:
    """Store the jobs here, or on ``remote`` in one atomic push with ``extra_refs`` (``store.queue.enqueue_jobs``)."""
    enqueue_jobs(ctx.repo, ctx.paths.workdir, docs, remote, extra_refs)


def _queue_for(ctx: Context, remote: str | None) -> QueueRefs:
    if remote is None:
        return LocalQueue(ctx.repo)
    from gitrun.commands.share import resolve_remote

    queue = RemoteQueue(ctx.repo, ctx.paths.workdir, resolve_remote(ctx, remote))
    queue.refresh()
    return queue


# --- queue add -------------------------------------------------------------------------------------

def queue_add_command(reference: str | None, command: Sequence[str], sets: Sequence[str], remote: str | None,
                      env: str, name: str | None, tags: Sequence[str], message: str) -> int:
    overrides = as_overrides([parse_assignment(text) for text in sets])
    ctx = open_context()
    inputs: list[str] = []
    if reference is not None and command:
        raise UsageError("give a run or a command after --, not both")
    job_id = new_job_ids(1)[0]
    links = {"job": job_id}
    if reference is not None:
        run = ctx.store.get(ctx.store.resolve(reference).id)
        spec = spec_from_run(run, overrides=overrides, links={**links, "parent": run.id}, env=env,  # type: ignore[arg-type]
                             name=name, tags=tags, message=message or f"queued rerun of {run.name}")
        inputs = inputs_to_link(run.doc)
    elif command:
        snapshot = snapshot_working_state(ctx)
        spec = JobSpec(snapshot=str(snapshot), command=tuple(command), overrides=overrides,
                       env=env, links=tuple(links.items()), name=name, tags=tuple(tags),  # type: ignore[arg-type]
                       message=message, cwd=relative_cwd(ctx.store, ctx.cwd))
    else:
        raise UsageError("nothing to queue", hint="git run queue add RUN [--set K=V], or git run queue add -- CMD")
    remote_name = _remote_name(ctx, remote)
    enqueue(ctx, job_documents([spec], [job_id], inputs=inputs), remote_name)
    where = f" on {remote_name}" if remote_name else ""
    print(f"gitrun: queued job {job_id}{where}; `git run worker{' --remote ' + remote_name if remote_name else ''}` "
          "runs it")
    return 0


def _remote_name(ctx: Context, remote: str | None) -> str | None:
    if remote is None:
        return None
    from gitrun.commands.share import resolve_remote

    return resolve_remote(ctx, remote)


def snapshot_working_state(ctx: Context) -> str:
    """A snapshot commit of the working tree as it is (the recorder's capture: the user's index is
    never written; secrets, large untracked files and ``.gitrunignore`` are left out)."""
    from gitrun.capture.code import snapshot_code

    snapshot = snapshot_code(ctx.paths, ctx.settings)
    for warning in snapshot.warnings:
        print(f"gitrun: {warning}", file=sys.stderr)
    for item in snapshot.excluded:
        print(f"gitrun: left out of the snapshot: {item.path} ({item.reason})", file=sys.stderr)
    parents = [snapshot.base_commit] if snapshot.base_commit is not None else []
    return write_commit(ctx.repo, snapshot.tree, parents, "gitrun: queued code\n")


# --- queue ls / rm ---------------------------------------------------------------------------------

def queue_ls_command(remote: str | None, show_all: bool, sweep: str | None, as_json: bool) -> int:
    ctx = open_context(recover=False)
    queue = _queue_for(ctx, remote)
    jobs, problems = list_jobs(ctx.repo, queue.refs())
    if sweep is not None:
        from gitrun.store.sweeps import resolve_sweep

        sweep_id = str(resolve_sweep(ctx.repo, sweep)["id"])
        jobs = [job for job in jobs if job.doc.get("sweep") == sweep_id]
    if not show_all:
        jobs = [job for job in jobs if job.doc.get("state") != q.DONE]
    if as_json:
        print(json.dumps([_job_json(job) for job in jobs], indent=2))
        return 0
    for problem in problems:
        print(f"gitrun: warning: {problem}", file=sys.stderr)
    if not jobs:
        print("no jobs" + ("" if show_all else " waiting or running (--all shows finished ones)"))
        return 0
    now = utc_now()
    rows = [_job_row(job, now) for job in jobs]
    print(table(rows, ["job", "state", "age", "sweep", "command"], output_width()))
    return 0


def _job_json(job: Job) -> dict[str, Any]:
    keys = ("id", "state", "created", "created_by", "sweep", "params", "attempt", "lease", "result", "attempts", "spec")
    out: dict[str, Any] = {key: job.doc[key] for key in keys if key in job.doc}
    out["commit"] = str(job.commit)
    return out


def _job_row(job: Job, now: datetime) -> list[str]:
    from gitrun.model.timefmt import from_iso

    spec = job.doc.get("spec", {})
    command = " ".join(str(arg) for arg in spec.get("command", []))
    overrides = spec.get("overrides") or []
    if overrides:
        command += "  [" + " ".join(f"{item.get('key')}={item.get('value')}" for item in overrides
                                    if isinstance(item, dict)) + "]"
    try:
        age = human_age(from_iso(str(job.doc.get("created"))), now)
    except ValueError:
        age = "?"
    return [job.id[:10], q.describe_state(job.doc, now), age, str(job.doc.get("sweep", ""))[:10], command]


def queue_rm_command(job_ids: Sequence[str], remote: str | None, sweep: str | None, done: bool,
                     force: bool) -> int:
    ctx = open_context(recover=False)
    queue = _queue_for(ctx, remote)
    jobs, _ = list_jobs(ctx.repo, queue.refs())
    chosen = _choose(ctx, jobs, job_ids, sweep, done)
    running = [job for job in chosen if job.doc.get("state") == q.RUNNING and not q.is_claimable(job.doc, utc_now())]
    if running and not force:
        raise UsageError(f"job {running[0].id[:10]} is running on {q.holder(running[0].doc)}",
                         hint="stop its worker first, or pass --force (the run still records)")
    removed = sum(1 for job in chosen if queue.swap(job.id, None, job.commit))
    print(f"gitrun: removed {removed} job(s)" + (f" ({len(chosen) - removed} changed meanwhile: run it again)"
                                                  if removed < len(chosen) else ""))
    return 0 if removed == len(chosen) else 1


def _choose(ctx: Context, jobs: list[Job], job_ids: Sequence[str], sweep: str | None, done: bool) -> list[Job]:
    if not job_ids and sweep is None and not done:
        raise UsageError("which jobs?", hint="give job ids, --sweep S or --done")
    chosen: dict[str, Job] = {}
    for text in job_ids:
        matches = [job for job in jobs if job.id.startswith(text.lower())]
        if len(matches) != 1:
            raise UsageError(f"'{text}' matches {len(matches)} jobs", hint="`git run queue ls --all` lists them")
        chosen[matches[0].id] = matches[0]
    if sweep is not None:
        from gitrun.store.sweeps import resolve_sweep

        sweep_id = resolve_sweep(ctx.repo, sweep)["id"]
        chosen.update({job.id: job for job in jobs if job.doc.get("sweep") == sweep_id})
    if done:
        chosen.update({job.id: job for job in jobs if job.doc.get("state") == q.DONE})
    return list(chosen.values())


__all__ = ["enqueue", "job_documents", "new_job_ids", "queue_add_command", "queue_ls_command", "queue_rm_command",
           "snapshot_working_state"]
