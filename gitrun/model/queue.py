"""A queued job's state document and its transitions, as plain data (no I/O).

Each transition returns a new document; the store writes it as a new commit and moves the job's
ref by compare-and-swap, so exactly one worker wins each claim. A job is ``queued`` until a worker
claims it (``running``, with a lease the worker renews); it ends ``done`` (with the run it
recorded and its exit code). A worker that disappears stops renewing: once its lease has expired,
the next claim records that attempt as ``lost`` and runs the job again. Interrupting a worker may
put its job back (the attempt is recorded as ``interrupted``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from gitrun.errors import StorageError
from gitrun.model.timefmt import from_iso, to_iso

JOB_FORMAT = 1
QUEUED = "queued"
RUNNING = "running"
DONE = "done"
STATES = (QUEUED, RUNNING, DONE)
LOST = "lost"
INTERRUPTED = "interrupted"
DEFAULT_LEASE_S = 120.0


def new_job(job_id: str, spec: Mapping[str, Any], created: datetime, created_by: str,
            sweep: str | None = None, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"format": JOB_FORMAT, "id": job_id, "state": QUEUED, "created": to_iso(created),
                           "created_by": created_by, "spec": dict(spec)}
    if sweep:
        doc["sweep"] = sweep
    if params:
        doc["params"] = dict(params)
    return doc


def check_job(doc: Mapping[str, Any], job_id: str) -> None:
    """Refuse a document that is not a job this gitrun understands (a job is untrusted data)."""
    if not isinstance(doc.get("format"), int) or doc["format"] > JOB_FORMAT:
        raise StorageError(f"job {job_id}: format {doc.get('format')!r} is not supported",
                           hint="upgrade gitrun to read it")
    if doc.get("id") != job_id or doc.get("state") not in STATES or not isinstance(doc.get("spec"), Mapping):
        raise StorageError(f"job {job_id}: malformed job document", hint="remove it with `git run queue rm`")


def lease_expires(doc: Mapping[str, Any]) -> datetime | None:
    lease = doc.get("lease")
    if not isinstance(lease, Mapping) or not isinstance(lease.get("expires"), str):
        return None
    try:
        return from_iso(lease["expires"])
    except ValueError:
        return None


def is_claimable(doc: Mapping[str, Any], now: datetime) -> bool:
    """Queued, or running under a lease that expired (its worker is gone)."""
    if doc.get("state") == QUEUED:
        return True
    if doc.get("state") != RUNNING:
        return False
    expires = lease_expires(doc)
    return expires is None or expires <= now


def holder(doc: Mapping[str, Any]) -> str | None:
    lease = doc.get("lease")
    return str(lease.get("worker")) if isinstance(lease, Mapping) and doc.get("state") == RUNNING else None


def _attempt(doc: Mapping[str, Any], outcome: str, ended: datetime, **extra: Any) -> dict[str, Any]:
    lease = doc.get("lease")
    if not isinstance(lease, Mapping):
        lease = {}
    attempt = {key: lease[key] for key in ("worker", "host", "claimed", "attempt") if key in lease}
    attempt.update(outcome=outcome, ended=to_iso(ended))
    attempt.update({key: value for key, value in extra.items() if value is not None})
    return attempt


def claimed(doc: Mapping[str, Any], worker: str, host: str, now: datetime, lease_s: float) -> dict[str, Any]:
    """The job claimed by ``worker``; an expired earlier attempt is recorded as ``lost``."""
    new = copy.deepcopy(dict(doc))
    attempts = list(new.get("attempts", []))
    if new.get("state") == RUNNING:  # its lease expired: the previous worker is gone
        attempts.append(_attempt(new, LOST, now, reason="lease expired"))
    number = int(new.get("attempt", 0)) + 1
    new.update(state=RUNNING, attempt=number)
    new["lease"] = {"worker": worker, "host": host, "claimed": to_iso(now), "renewed": to_iso(now),
                    "expires": to_iso(now + timedelta(seconds=lease_s)), "attempt": number}
    if attempts:
        new["attempts"] = attempts
    return new


def _held_copy(doc: Mapping[str, Any], worker: str) -> dict[str, Any]:
    """A copy of the job to change, refused when ``worker`` no longer holds its lease."""
    if holder(doc) != worker:
        raise StorageError(f"job {doc.get('id')}: the lease is no longer held by {worker}")
    return copy.deepcopy(dict(doc))


def renewed(doc: Mapping[str, Any], worker: str, now: datetime, lease_s: float) -> dict[str, Any]:
    new = _held_copy(doc, worker)
    new["lease"].update(renewed=to_iso(now), expires=to_iso(now + timedelta(seconds=lease_s)))
    return new


def started(doc: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    """The run id of the running attempt, once its recording has started."""
    new = copy.deepcopy(dict(doc))
    new["lease"]["run"] = run_id
    return new


def finished(doc: Mapping[str, Any], worker: str, now: datetime, run_id: str | None, exit_code: int,
             error: str | None = None) -> dict[str, Any]:
    new = _held_copy(doc, worker)
    result = {"run": run_id, "exit_code": exit_code, "worker": worker, "host": new["lease"].get("host"),
              "ended": to_iso(now), "error": error}
    new["result"] = {key: value for key, value in result.items() if value is not None}
    attempts = list(new.get("attempts", []))
    attempts.append(_attempt(new, DONE, now, run=run_id, exit_code=exit_code))
    new["attempts"] = attempts
    new["state"] = DONE
    del new["lease"]
    return new


def requeued(doc: Mapping[str, Any], worker: str, now: datetime, reason: str, run_id: str | None = None
             ) -> dict[str, Any]:
    """Back in the queue: the worker was stopped before the job finished."""
    new = _held_copy(doc, worker)
    attempts = list(new.get("attempts", []))
    attempts.append(_attempt(new, INTERRUPTED, now, reason=reason, run=run_id))
    new["attempts"] = attempts
    new["state"] = QUEUED
    del new["lease"]
    return new


def describe_state(doc: Mapping[str, Any], now: datetime) -> str:
    """One word or phrase for ``queue ls``."""
    state = str(doc.get("state"))
    if state == RUNNING:
        expires = lease_expires(doc)
        lease = doc.get("lease", {})
        who = lease.get("worker", "?") if isinstance(lease, Mapping) else "?"
        if expires is not None and expires <= now:
            return f"running on {who} (lease expired: will be claimed again)"
        return f"running on {who}"
    if state == DONE:
        result = doc.get("result", {})
        code = result.get("exit_code") if isinstance(result, Mapping) else None
        return "done" if code == 0 else f"done (exit {code})"
    lost = sum(1 for attempt in doc.get("attempts", []) if isinstance(attempt, Mapping)
               and attempt.get("outcome") in (LOST, INTERRUPTED))
    return f"queued (retry {lost})" if lost else state
