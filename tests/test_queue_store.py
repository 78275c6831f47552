"""The queue's refs: claims are compare-and-swaps that exactly one of many racing claimers wins,
locally (ref transactions) and through a real git daemon remote (leased pushes)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pygit2
import pytest

from gitrun.errors import StorageError
from gitrun.model import queue as q
from gitrun.model.ids import new_run_id
from gitrun.model.timefmt import utc_now
from gitrun.store.queue import LocalQueue, QueueRefs, RemoteQueue, list_jobs, read_job, write_job_commit
from tests.conftest import git
from tests.remote_helpers import Server, make_user, server_fixture  # noqa: F401


def _enqueue(repo: pygit2.Repository, queue: QueueRefs) -> str:
    job_id = new_run_id()
    head = repo.head.target
    doc = q.new_job(job_id, {"snapshot": str(head), "command": ["true"]}, utc_now(), "ada@test")
    commit = write_job_commit(repo, doc, [head], f"gitrun: job {job_id} queued")
    assert queue.swap(job_id, commit, None)
    return job_id


def _race(make_queue: callable, job_id: str, claimers: int) -> list[str]:  # type: ignore[valid-type]
    """``claimers`` threads, each with its own repository object, read the job, then claim it: half
    at once, the other half one after another (each still believing the job is free)."""
    winners: list[str] = []
    barrier = threading.Barrier(claimers)
    turns = [threading.Event() for _ in range(claimers)]
    turns[0].set()

    def claim(index: int) -> None:
        repo, queue = make_queue()
        queue.refresh()
        job = read_job(repo, job_id, queue.refs()[job_id])
        new = write_job_commit(repo, q.claimed(job.doc, f"w{index}", "host", utc_now(), 60), [job.commit], "claim")
        barrier.wait()
        if index % 2:
            turns[index - 1].wait()
        if queue.swap(job_id, new, job.commit):
            winners.append(f"w{index}")
        turns[index].set()

    threads = [threading.Thread(target=claim, args=(index,)) for index in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return winners


def test_many_local_claimers_one_winner(repo: Path) -> None:
    pyrepo = pygit2.Repository(str(repo))
    job_id = _enqueue(pyrepo, LocalQueue(pyrepo))

    def make() -> tuple[pygit2.Repository, QueueRefs]:
        own = pygit2.Repository(str(repo))
        return own, LocalQueue(own)

    winners = _race(make, job_id, 12)
    assert len(winners) == 1
    job = read_job(pyrepo, job_id, LocalQueue(pyrepo).refs()[job_id])
    assert job.doc["state"] == q.RUNNING and job.doc["lease"]["worker"] == winners[0]
    assert git(repo, "status", "--porcelain") == ""  # the user's state is untouched


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_many_claimers_through_a_remote_one_winner(server: Server, tmp_path: Path) -> None:
    ada = make_user(server, tmp_path, "Ada", seed=True)
    pyrepo = pygit2.Repository(str(ada.path))
    job_id = _enqueue(pyrepo, RemoteQueue(pyrepo, ada.path, "origin"))
    assert f"refs/gitrun/queue/{job_id}" in server.refs("refs/gitrun/queue/")
    clones = [make_user(server, tmp_path, f"W{index}") for index in range(6)]

    counter = iter(range(len(clones)))
    lock = threading.Lock()

    def make() -> tuple[pygit2.Repository, QueueRefs]:
        with lock:
            clone = clones[next(counter)]
        own = pygit2.Repository(str(clone.path))
        return own, RemoteQueue(own, clone.path, "origin")

    winners = _race(make, job_id, len(clones))
    assert len(winners) == 1
    # the job's snapshot came with it: a fresh clone that fetched the job can read and check it out
    fresh = pygit2.Repository(str(clones[0].path))
    queue = RemoteQueue(fresh, clones[0].path, "origin")
    queue.refresh()
    job = read_job(fresh, job_id, queue.refs()[job_id])
    assert job.doc["lease"]["worker"] == winners[0]
    assert fresh.get(job.doc["spec"]["snapshot"]) is not None


def test_an_expired_lease_is_claimed_again_and_the_attempt_recorded_lost() -> None:
    now = utc_now()
    doc = q.new_job("j1", {"command": ["x"]}, now, "ada")
    first = q.claimed(doc, "w1", "h1", now, 10)
    assert not q.is_claimable(first, now + timedelta(seconds=9))
    assert q.is_claimable(first, now + timedelta(seconds=11))
    renewed = q.renewed(first, "w1", now + timedelta(seconds=8), 10)
    assert not q.is_claimable(renewed, now + timedelta(seconds=11))
    second = q.claimed(renewed, "w2", "h2", now + timedelta(seconds=30), 10)
    assert second["attempt"] == 2 and second["attempts"][0]["outcome"] == q.LOST
    assert second["attempts"][0]["worker"] == "w1"
    with pytest.raises(StorageError):  # the lost worker can no longer finish or renew it
        q.finished(second, "w1", now, "run", 0)
    done = q.finished(second, "w2", now + timedelta(seconds=31), "r2", 0)
    assert done["state"] == q.DONE and done["result"]["run"] == "r2" and "lease" not in done
    assert not q.is_claimable(done, now + timedelta(days=1))
    assert q.describe_state(done, now) == "done"
    back = q.requeued(q.claimed(doc, "w3", "h", now, 10), "w3", now, "worker stopped")
    assert back["state"] == q.QUEUED and back["attempts"][-1]["outcome"] == q.INTERRUPTED
    assert q.describe_state(back, now) == "queued (retry 1)"


def test_a_malformed_job_is_reported_not_fatal(repo: Path) -> None:
    pyrepo = pygit2.Repository(str(repo))
    queue = LocalQueue(pyrepo)
    good = _enqueue(pyrepo, queue)
    bad = write_job_commit(pyrepo, {"format": 1, "id": "other", "state": "queued", "spec": {}}, [], "x")
    assert queue.swap("01bad", bad, None)
    jobs, problems = list_jobs(pyrepo, queue.refs())
    assert [job.id for job in jobs] == [good]
    assert len(problems) == 1 and "01bad" in problems[0]
