"""``git run worker``: take jobs from the queue (this repository's, or a shared remote's) and run them.

Each slot (``-j N`` of them, threads of this process) loops: claim the oldest claimable job by
compare-and-swap of its ref (``gitrun.store.queue``), run it in a child ``git run`` process (which
calls ``gitrun.runner.replay.run_job``: a worktree at the job's snapshot, recorded as a normal
run), renew the lease every third of its length while it runs, push the run to the remote (when
there is one), then mark the job done. A slot that cannot renew its lease before it ends stops its
job: by then another worker may have claimed it, and a job never runs twice at once.

Ctrl-C: the running jobs finish and no new job is taken (``--on-interrupt finish``, the default);
a second Ctrl-C, SIGTERM (a scheduler's preemption) or ``--on-interrupt requeue`` interrupts them
and puts them back in the queue (the attempt is recorded as ``interrupted``).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from gitrun.commands.context import Context, open_context
from gitrun.errors import GitrunError, UsageError
from gitrun.model import queue as q
from gitrun.model.timefmt import utc_now
from gitrun.store.git import Repository
from gitrun.store.queue import Job, LocalQueue, QueueRefs, RemoteQueue, list_jobs, read_job, write_job_commit

FINISH = "finish"
REQUEUE = "requeue"


@dataclass
class WorkerOptions:
    processes: int = 1
    remote: str | None = None
    env: str | None = None  # overrides each job's env mode (current | venv)
    once: bool = False  # exit when no job is left to claim, instead of waiting for more
    max_jobs: int | None = None
    lease_s: float = q.DEFAULT_LEASE_S
    poll_s: float = 5.0
    sweep: str | None = None  # only this sweep's jobs
    on_interrupt: str = FINISH
    quiet: bool = False
    clone: str | None = None  # work in a fresh temporary repository whose origin is this URL


@dataclass
class Outcome:
    """What one slot did with one job."""

    job_id: str
    run_id: str | None
    exit_code: int
    requeued: bool = False


@dataclass
class Shared:
    """State the slots share: when to stop, how many jobs may still be taken, what was done."""

    options: WorkerOptions
    stop_claiming: threading.Event = field(default_factory=threading.Event)
    interrupt_jobs: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    taken: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    unpushed: list[str] = field(default_factory=list)  # runs recorded here that could not be pushed

    def take_one(self) -> bool:
        with self.lock:
            if self.stop_claiming.is_set():
                return False
            if self.options.max_jobs is not None and self.taken >= self.options.max_jobs:
                return False
            self.taken += 1
            return True

    def give_back(self) -> None:
        with self.lock:
            self.taken -= 1


def say(options: WorkerOptions, text: str) -> None:
    if not options.quiet:
        print(f"gitrun: worker: {text}", file=sys.stderr, flush=True)


def worker_command(options: WorkerOptions, start: Path | None = None) -> int:
    if options.clone is not None:
        return _in_fresh_clone(options)
    ctx = open_context(start)
    shared = run_worker_here(ctx, options)
    done = [o for o in shared.outcomes if not o.requeued]
    failed = [o for o in done if o.exit_code != 0]
    say(options, f"{len(done)} job(s) run" + (f", {len(failed)} failed" if failed else "")
        + (f", {len(shared.outcomes) - len(done)} requeued" if len(done) < len(shared.outcomes) else ""))
    if shared.unpushed:
        say(options, f"{len(shared.unpushed)} run(s) could not be pushed; they stay in {ctx.paths.workdir}")
        return UNPUSHED_EXIT
    if shared.interrupt_jobs.is_set():
        return 130
    return 1 if failed else 0


UNPUSHED_EXIT = 75  # EX_TEMPFAIL: the worker's repository holds runs the remote lacks: keep it


def _in_fresh_clone(options: WorkerOptions) -> int:
    """``--clone URL``: what cluster workers run. A new repository with ``origin`` = URL (nothing is
    checked out: each job's snapshot arrives with the job), removed afterwards unless it holds runs
    that could not be pushed."""
    import shutil

    from gitrun.store.git import run_git

    assert options.clone is not None
    folder = Path(tempfile.mkdtemp(prefix="gitrun-worker-"))
    code = UNPUSHED_EXIT
    try:
        run_git(["init", "-q", str(folder)], folder)
        run_git(["remote", "add", "origin", options.clone], folder)
        code = worker_command(dataclasses.replace(options, clone=None, remote="origin"), folder)
    finally:
        if code == UNPUSHED_EXIT:
            say(options, f"keeping {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return code


def run_worker_here(ctx: Context, options: WorkerOptions) -> Shared:
    """The worker's slots in this process (``git run sweep --run`` calls it too); Ctrl-C handled here."""
    if options.processes < 1:
        raise UsageError("-j must be at least 1")
    if options.lease_s < 1:
        raise UsageError("--lease must be at least 1 second")
    if options.on_interrupt not in (FINISH, REQUEUE):
        raise UsageError(f"--on-interrupt {options.on_interrupt}: use finish or requeue")
    if options.remote is not None:
        from gitrun.commands.share import resolve_remote

        options.remote = resolve_remote(ctx, options.remote)
    shared = Shared(options)
    with _interrupt_handling(shared):
        if options.processes == 1:
            _slot_loop(ctx, shared, 1)
        else:
            threads = [threading.Thread(target=_slot_thread, args=(ctx.cwd, shared, slot), name=f"gitrun-slot-{slot}")
                       for slot in range(1, options.processes + 1)]
            for thread in threads:
                thread.start()
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.2)  # the main thread stays free for Ctrl-C
    return shared


@contextlib.contextmanager
def _interrupt_handling(shared: Shared) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    options = shared.options

    def on_sigint(_signum: int, _frame: FrameType | None) -> None:
        if shared.stop_claiming.is_set() or options.on_interrupt == REQUEUE:
            if not shared.interrupt_jobs.is_set():
                say(options, "interrupting the running job(s); they go back to the queue")
            shared.stop_claiming.set()
            shared.interrupt_jobs.set()
            return
        shared.stop_claiming.set()
        say(options, "stopping: the running job(s) finish, no new one is taken (Ctrl-C again to interrupt and "
                     "requeue them)")

    def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
        shared.stop_claiming.set()
        shared.interrupt_jobs.set()

    previous = (signal.signal(signal.SIGINT, on_sigint), signal.signal(signal.SIGTERM, on_sigterm))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


def _slot_thread(cwd: Path, shared: Shared, slot: int) -> None:
    try:
        _slot_loop(open_context(cwd, recover=False), shared, slot)  # its own repository object
    except GitrunError as err:
        say(shared.options, f"slot {slot} stopped: {err.one_line()}")
        shared.stop_claiming.set()


def make_queue(ctx: Context, remote: str | None) -> QueueRefs:
    if remote is None:
        return LocalQueue(ctx.repo)
    return RemoteQueue(ctx.repo, ctx.paths.workdir, remote)


def worker_name(slot: int) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{slot}"


def _slot_loop(ctx: Context, shared: Shared, slot: int) -> None:
    options = shared.options
    queue = make_queue(ctx, options.remote)
    worker = worker_name(slot)
    while not shared.stop_claiming.is_set():
        if not shared.take_one():
            return
        try:
            claim = claim_next(ctx.repo, queue, worker, options.lease_s, options.sweep)
        except GitrunError as err:  # the remote is unreachable for now: a long-lived worker waits it out
            shared.give_back()
            if options.once:
                raise
            say(options, f"cannot read the queue ({err.one_line()}); trying again in {options.poll_s:g} s")
            shared.stop_claiming.wait(options.poll_s)
            continue
        if claim is None:
            shared.give_back()
            if options.once:
                return
            shared.stop_claiming.wait(options.poll_s)
            continue
        outcome = _run_claimed(ctx, queue, shared, worker, claim)
        with shared.lock:
            shared.outcomes.append(outcome)


def claim_next(repo: Repository, queue: QueueRefs, worker: str, lease_s: float,
               sweep: str | None = None) -> Job | None:
    """Claim the oldest claimable job (a lost race moves on to the next one); None when none is left."""
    queue.refresh()
    jobs, _problems = list_jobs(repo, queue.refs())
    for job in jobs:
        if sweep is not None and job.doc.get("sweep") != sweep:
            continue
        now = utc_now()
        if not q.is_claimable(job.doc, now):
            continue
        doc = q.claimed(job.doc, worker, socket.gethostname(), now, lease_s)
        note = f" (attempt {doc['attempt']}, the previous one was lost)" if job.doc.get("state") == q.RUNNING else ""
        commit = write_job_commit(repo, doc, [job.commit], f"gitrun: job {job.id} claimed by {worker}{note}")
        if queue.swap(job.id, commit, job.commit):
            return Job(job.id, commit, doc)
    return None


class _Lease:
    """The slot's hold on its job: the commit it last wrote, renewed by compare-and-swap."""

    def __init__(self, repo: Repository, queue: QueueRefs, worker: str, job: Job, lease_s: float) -> None:
        self.repo, self.queue, self.worker, self.lease_s = repo, queue, worker, lease_s
        self.job = job
        self.renew_at = time.monotonic() + lease_s / 3
        self.valid_until = time.monotonic() + lease_s * 0.9  # our own margin below the recorded expiry
        self.lost = False

    def move(self, doc: dict[str, Any], message: str) -> bool:
        commit = write_job_commit(self.repo, doc, [self.job.commit], message)
        if not self.queue.swap(self.job.id, commit, self.job.commit):
            self.lost = True
            return False
        self.job = Job(self.job.id, commit, doc)
        return True

    def renew_if_due(self) -> None:
        now = time.monotonic()
        if now < self.renew_at or self.lost:
            return
        try:
            if self.move(q.renewed(self.job.doc, self.worker, utc_now(), self.lease_s), "gitrun: lease renewed"):
                self.valid_until = now + self.lease_s * 0.9
            self.renew_at = now + self.lease_s / 3
        except GitrunError:  # the remote is unreachable for now: try again soon, until the lease runs out
            self.renew_at = now + min(2.0, self.lease_s / 10)

    @property
    def expired(self) -> bool:
        return self.lost or time.monotonic() >= self.valid_until


def _run_claimed(ctx: Context, queue: QueueRefs, shared: Shared, worker: str, job: Job) -> Outcome:
    options = shared.options
    say(options, f"{worker} took job {job.id[:10]}{_describe(job.doc)}")
    lease = _Lease(ctx.repo, queue, worker, job, options.lease_s)
    with tempfile.TemporaryDirectory(prefix="gitrun-worker-") as folder:
        result_file = Path(folder) / "result.json"
        proc = _start_job_process(ctx, job, result_file, options)
        interrupted = _supervise(proc, lease, shared)
        result = _read_result(result_file)
    run_id = result.get("run_id") if isinstance(result.get("run_id"), str) else None
    code = result.get("exit_code")
    returncode = proc.returncode if proc.returncode is not None else 1
    exit_code = code if isinstance(code, int) else (returncode if returncode >= 0 else 128 - returncode)
    if lease.lost:
        say(options, f"job {job.id[:10]}: the lease was lost (another worker took the job); run "
                     f"{(run_id or '-')[:10]} kept here")
        return Outcome(job.id, run_id, exit_code, requeued=True)
    if run_id is not None and options.remote is not None and not _push_run(ctx, options, run_id, lease):
        with shared.lock:
            shared.unpushed.append(run_id)
    if interrupted:
        _settle(lease, q.requeued(lease.job.doc, worker, utc_now(), "worker interrupted", run_id), "requeued")
        say(options, f"job {job.id[:10]} interrupted and put back in the queue")
        return Outcome(job.id, run_id, exit_code, requeued=True)
    error = result.get("error") if isinstance(result.get("error"), str) else None
    _settle(lease, q.finished(lease.job.doc, worker, utc_now(), run_id, exit_code, error), "done")
    say(options, f"job {job.id[:10]} done: " + (f"run {run_id[:10]}" if run_id else f"no run ({error})")
        + f", exit {exit_code}")
    return Outcome(job.id, run_id, exit_code)


def _describe(doc: dict[str, Any]) -> str:
    params = doc.get("params")
    if isinstance(params, dict) and params:
        return " (" + " ".join(f"{key}={value}" for key, value in params.items()) + ")"
    return ""


def _settle(lease: _Lease, doc: dict[str, Any], what: str) -> None:
    """The final move of the job, retried while the remote is unreachable (never past the lease)."""
    while True:
        try:
            if not lease.move(doc, f"gitrun: job {what}"):
                return  # someone took the job over meanwhile; our run is recorded either way
            return
        except GitrunError:
            if lease.expired:
                return
            time.sleep(1.0)


def _push_run(ctx: Context, options: WorkerOptions, run_id: str, lease: _Lease) -> bool:
    """Push the run (retried), the lease kept renewed meanwhile: the job is not done until its run
    is on the remote, and no other worker may take it over in between."""
    from gitrun.commands.share import push_runs

    assert options.remote is not None
    for attempt in range(5):
        lease.renew_if_due()
        try:
            push_runs(ctx, options.remote, [run_id], no_verify=True, quiet=True)
            return True
        except GitrunError as err:
            if attempt == 4:
                say(options, f"could not push run {run_id[:10]} to {options.remote}: {err.one_line()}; it is "
                             "recorded here (`git run push` sends it later)")
                return False
            time.sleep(1.0 + attempt)
    return True


def _start_job_process(ctx: Context, job: Job, result_file: Path, options: WorkerOptions) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "gitrun", "job-exec", str(job.commit), "--job-id", job.id,
            "--result-file", str(result_file)]
    if options.env:
        args += ["--env", options.env]
    if options.quiet:
        args.append("--quiet")
    # Its own session: the terminal's Ctrl-C reaches the worker only, which decides what the job gets.
    return subprocess.Popen(args, cwd=str(ctx.paths.workdir), start_new_session=True,
                            preexec_fn=_die_with_parent)


def _die_with_parent() -> None:
    """In the job process: SIGTERM when the worker dies (kill -9 included), so no job runs on unowned."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _supervise(proc: subprocess.Popen[bytes], lease: _Lease, shared: Shared) -> bool:
    """Wait for the job process, renewing the lease; True when it was interrupted to be requeued."""
    interrupted = False
    stop_sent: float | None = None
    while proc.poll() is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.2)
        if proc.returncode is not None:
            break
        if shared.interrupt_jobs.is_set() and stop_sent is None:
            interrupted = True
            stop_sent = _signal(proc, signal.SIGINT)
        lease.renew_if_due()
        if lease.expired and stop_sent is None:
            say(shared.options, f"job {lease.job.id[:10]}: the lease could not be renewed; stopping the job")
            stop_sent = _signal(proc, signal.SIGTERM)
        if stop_sent is not None and time.monotonic() - stop_sent > 30:
            _signal(proc, signal.SIGKILL)
            stop_sent = time.monotonic()
    return interrupted


def _signal(proc: subprocess.Popen[bytes], signum: int) -> float:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signum)
    return time.monotonic()


def _read_result(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# --- the job process (``git run job-exec``, started by a slot) --------------------------------------

def job_exec_command(commit: str, job_id: str, result_file: Path, env: str | None, quiet: bool) -> int:
    """Run one claimed job and write ``{run_id, exit_code, status}`` (or ``{error}``) to ``result_file``."""
    from gitrun.model.job import JobSpec
    from gitrun.runner.replay import run_job

    def write(result: dict[str, Any]) -> None:
        result_file.write_text(json.dumps(result))

    ctx = open_context(recover=False)
    try:
        job = read_job(ctx.repo, job_id, commit)
        spec = JobSpec.from_dict(job.doc["spec"])
        if env is not None and env != spec.env:
            spec = dataclasses.replace(spec, env=env)  # type: ignore[arg-type]  # checked by JobSpec
        inputs = [str(path) for path in job.doc.get("inputs", []) if isinstance(path, str)]
        result = run_job(spec, ctx.paths.workdir, env=_job_environment(ctx, spec), link_inputs=inputs,
                         quiet=quiet, launched_by="git run worker")
    except GitrunError as err:
        write({"error": err.one_line(), "exit_code": err.exit_code})
        raise
    write({"run_id": result.run_id, "exit_code": result.exit_code, "status": result.status})
    return result.exit_code


def _job_environment(ctx: Context, spec: Any) -> dict[str, str] | None:
    """The job's environment: this process's, or a virtual environment rebuilt from recorded packages."""
    if spec.env != "venv":
        return None
    try:
        from gitrun.runner.venv import build_venv
    except ImportError:  # pragma: no cover - an installation without the venv builder
        raise UsageError("env venv is not available in this gitrun", hint="run the job with --env current")
    if not spec.packages_of:
        raise UsageError("env venv needs the run whose packages to install", hint="queue the job from a run")
    run = ctx.store.get(ctx.store.resolve(spec.packages_of).id)
    recorded = run.doc.get("env")
    built = build_venv(recorded if isinstance(recorded, dict) else {})
    return built.environment(os.environ)
