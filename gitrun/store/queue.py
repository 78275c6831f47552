"""The job queue as refs: ``refs/gitrun/queue/<job-id>`` -> a commit whose tree holds ``job.toml``.

Every state change (claimed, lease renewed, done, requeued) is a new commit whose first parent is
the previous state, and the ref moves by compare-and-swap, so two workers can never both win a
claim: locally through a ref transaction (``store.refs.compare_and_swap``), through a remote
through ``git push --force-with-lease=<ref>:<expected>`` (git's receive-pack checks the old value
under the ref's lock, so exactly one of several racing pushes succeeds). The first commit of a job
has the job's snapshot commit as its second parent: fetching a job brings the code it runs, and
``git gc`` keeps it. Format: docs/format.md, "The queue".
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pygit2

from gitrun.errors import GitCommandError, StorageError, UsageError
from gitrun.model.queue import check_job
from gitrun.store import codec
from gitrun.store.commits import is_commit
from gitrun.store.git import default_signature, run_git
from gitrun.store.gitcli import NO_AUTO_MAINTENANCE
from gitrun.store.refs import ObjectId, RefMoved, compare_and_swap, ref_targets, to_oid
from gitrun.store.trees import build_tree, read_blob_at

QUEUE_PREFIX = "refs/gitrun/queue/"
JOB_FILE = "job.toml"
# What git says when a push lost a compare-and-swap race (the ref moved since we read it).
_LOST_RACE = ("stale info", "fetch first", "non-fast-forward", "already exists", "cannot lock ref",
              "failed to update ref", "incorrect old value", "failed to lock")


def job_ref(job_id: str) -> str:
    return QUEUE_PREFIX + job_id


def tracking_queue_prefix(remote: str) -> str:
    return f"refs/gitrun/remotes/{remote}/queue/"


@dataclass(frozen=True)
class Job:
    """One job as read from its ref: the commit it points at and the state document."""

    id: str
    commit: str  # hex
    doc: dict[str, Any]


def write_job_commit(repo: pygit2.Repository, doc: dict[str, Any], parents: Sequence[ObjectId], message: str
                     ) -> str:
    """A new job state commit (not yet on any ref); its hex id."""
    tree = build_tree(repo, {JOB_FILE: codec.encode(doc)})
    signature = default_signature(repo)
    return str(repo.create_commit(None, signature, signature, message, tree, [to_oid(parent) for parent in parents]))


def read_job(repo: pygit2.Repository, job_id: str, commit_id: ObjectId) -> Job:
    """The job at ``commit_id``; StorageError when it is missing or malformed (untrusted data)."""
    try:
        commit = repo.get(to_oid(commit_id))
    except ValueError:
        raise StorageError(f"job {job_id}: {commit_id} is not a commit id")
    if not isinstance(commit, pygit2.Commit):
        raise StorageError(f"job {job_id}: {commit_id} is not a commit")
    data = read_blob_at(repo, commit.tree, JOB_FILE)
    if data is None:
        raise StorageError(f"job {job_id}: the commit holds no {JOB_FILE}")
    if len(data) > 1024 * 1024:
        raise StorageError(f"job {job_id}: {JOB_FILE} is over 1 MiB")
    doc = codec.decode(data, f"job {job_id}")
    check_job(doc, job_id)
    return Job(job_id, str(commit_id), doc)


def refs_under(repo: pygit2.Repository, prefix: str) -> dict[str, str]:
    """The job id (the rest of the name) and target (hex) of every ref under ``prefix``."""
    return {name[len(prefix):]: target for name, target in ref_targets(repo, prefix).items()}


class QueueRefs(Protocol):
    """Where the job refs live: this repository, or a remote reached through the git CLI."""

    def refresh(self) -> None: ...

    def refs(self) -> dict[str, str]: ...

    def swap(self, job_id: str, new: ObjectId | None, expected: ObjectId | None) -> bool: ...


class LocalQueue:
    """Job refs in this repository; a swap is a ref transaction with the expected old value."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo

    def refresh(self) -> None:
        return None

    def refs(self) -> dict[str, str]:
        return refs_under(self.repo, QUEUE_PREFIX)

    def swap(self, job_id: str, new: ObjectId | None, expected: ObjectId | None) -> bool:
        try:
            compare_and_swap(self.repo, job_ref(job_id), None if new is None else to_oid(new),
                             None if expected is None else to_oid(expected), default_signature(self.repo),
                             f"gitrun: job {job_id}")
        except RefMoved:
            return False
        return True


class RemoteQueue:
    """Job refs on a remote: read through a fetch into tracking refs, moved by leased pushes."""

    _fetching = threading.Lock()  # the worker's threads share one clone: one fetch at a time

    def __init__(self, repo: pygit2.Repository, workdir: Path, remote: str) -> None:
        self.repo = repo
        self.workdir = workdir
        self.remote = remote

    def refresh(self) -> None:
        prefix = tracking_queue_prefix(self.remote)
        args = [*NO_AUTO_MAINTENANCE, "fetch", "--quiet", "--no-tags", "--prune", "--no-write-fetch-head",
                self.remote, f"+{QUEUE_PREFIX}*:{prefix}*"]
        with self._fetching:
            for attempt in range(5):  # another clone's process may hold a tracking ref's lock
                result = run_git(args, self.workdir, check=False, timeout=300)
                if result.returncode == 0:
                    return
                if attempt == 4 or "lock" not in result.stderr.decode("utf-8", "replace"):
                    run_git(args, self.workdir, timeout=300)  # raises with git's message

    def refs(self) -> dict[str, str]:
        return refs_under(self.repo, tracking_queue_prefix(self.remote))

    def swap(self, job_id: str, new: ObjectId | None, expected: ObjectId | None) -> bool:
        ref = job_ref(job_id)
        lease = f"--force-with-lease={ref}:{expected or ''}"
        source = f"{new}:{ref}" if new is not None else f":{ref}"
        result = run_git([*NO_AUTO_MAINTENANCE, "push", "--porcelain", "--no-verify", lease, self.remote, source],
                         self.workdir, check=False, timeout=300)
        if result.returncode == 0:
            self._track(job_id, new)
            return True
        output = (result.text + result.stderr.decode("utf-8", "replace")).lower()
        if any(reason in output for reason in _LOST_RACE) or "[rejected]" in output:
            return False
        message = [line for line in output.splitlines() if line.strip()]
        raise GitCommandError(f"could not update job {job_id} on {self.remote}: "
                              f"{message[-1] if message else 'git push failed'}",
                              hint="check that the remote is reachable and accepts pushes")

    def _track(self, job_id: str, new: ObjectId | None) -> None:
        """Keep the tracking ref in step with what we just pushed (a later fetch corrects any miss)."""
        name = tracking_queue_prefix(self.remote) + job_id
        try:
            if new is None:
                if name in self.repo.references:
                    self.repo.references.delete(name)
            else:
                self.repo.references.create(name, to_oid(new), force=True)
        except (pygit2.GitError, KeyError):
            pass


def enqueue_jobs(repo: pygit2.Repository, workdir: Path, docs: Sequence[dict[str, Any]], remote: str | None,
                 extra_refs: Mapping[str, str] | None = None) -> None:
    """Write each job's first commit (second parent: its snapshot) and create its ref: here, or on
    ``remote`` in one atomic push (with ``extra_refs``, e.g. the sweep, created alongside)."""
    commits: dict[str, str] = {}
    for doc in docs:
        snapshot = str(doc["spec"]["snapshot"])
        if not is_commit(repo, snapshot):
            raise UsageError(f"snapshot {snapshot[:10]} is not in this repository")
        commits[job_ref(str(doc["id"]))] = write_job_commit(repo, doc, [snapshot], f"gitrun: job {doc['id']} queued")
    if remote is None:
        queue = LocalQueue(repo)
        for ref, commit in commits.items():
            queue.swap(ref[len(QUEUE_PREFIX):], commit, None)
        return
    refs = dict(commits)
    refs.update(extra_refs or {})
    leases = [f"--force-with-lease={ref}:" for ref in refs]  # each must not exist yet
    run_git([*NO_AUTO_MAINTENANCE, "push", "--quiet", "--atomic", "--no-verify", *leases, remote,
             *(f"{commit}:{ref}" for ref, commit in refs.items())], workdir, timeout=600)


def list_jobs(repo: pygit2.Repository, refs: Mapping[str, ObjectId]) -> tuple[list[Job], list[str]]:
    """Every readable job, oldest first (ids sort by time), and one line per job that is not."""
    jobs: list[Job] = []
    problems: list[str] = []
    for job_id in sorted(refs):
        try:
            jobs.append(read_job(repo, job_id, refs[job_id]))
        except StorageError as err:
            problems.append(str(err))
    return jobs, problems
