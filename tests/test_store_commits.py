"""What the commands call instead of pygit2 (store/commits.py, workdir.py, journal.py, queue.py):
plain data in and out, and "nothing there" (never a crash, never "no files") when an object is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitrun.store import commits, journal, workdir
from gitrun.store.opening import open_store
from gitrun.store.queue import LocalQueue, list_jobs, read_job, write_job_commit
from tests.conftest import git, gitrun
from tests.test_store_library import _plain  # no pygit2 object anywhere inside


def _head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def test_a_commits_files_as_plain_data(repo: Path) -> None:
    (repo / "data").mkdir()
    (repo / "data" / "a.txt").write_text("a\n")
    (repo / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(repo / "run.sh", 0o755)
    os.symlink("README.md", repo / "link")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "more")
    first = git(repo, "rev-parse", "HEAD~1").strip()
    head = _head(repo)
    store = open_store(repo)
    files = commits.tree_files(store.repo, head)
    assert _plain(files) and sorted(files) == ["README.md", "data/a.txt", "link", "run.sh", "train.py"]
    assert files["link"].is_link and files["run.sh"].is_executable and not files["train.py"].is_executable
    assert commits.read_file(store.repo, head, "data/a.txt") == b"a\n"
    assert commits.read_folder(store.repo, head, "data") == {"a.txt": b"a\n"}
    assert commits.blob_data(store.repo, files["README.md"].id) == b"demo\n"
    assert commits.changed_paths(store.repo, first, head) == ["data/a.txt", "link", "run.sh"]
    info = commits.commit_info(store.repo, head[:9])
    assert info is not None and _plain(info) and info.id == head and info.parents == (first,)
    assert commits.head_info(store.repo) == info and commits.first_parent(store.repo, head) == first


@pytest.mark.parametrize("missing", [None, "", "0" * 40, "not-hex", "f" * 39])
def test_a_missing_or_malformed_commit_is_nothing_there(repo: Path, missing: str | None) -> None:
    store = open_store(repo)
    head = _head(repo)
    assert commits.read_file(store.repo, missing, "README.md") is None
    assert commits.read_folder(store.repo, missing, "data") == {}
    assert commits.tree_files(store.repo, missing) == {}
    assert commits.changed_paths(store.repo, missing, head) == []
    assert not commits.is_commit(store.repo, missing)
    assert commits.commit_info(store.repo, missing) is None


def test_working_tree_state_for_apply(repo: Path) -> None:
    store = open_store(repo)
    (repo / "README.md").write_text("changed\n")
    (repo / "new.txt").write_text("new\n")
    assert workdir.uncommitted_paths(store.repo) == {"README.md", "new.txt"}
    head = commits.head_info(store.repo)
    assert head is not None and head.id == _head(repo)
    on_disk = workdir.file_on_disk(repo / "train.py")
    assert on_disk == workdir.checkout_files(store.repo, _head(repo))["train.py"]  # same id and mode as git's
    assert workdir.file_on_disk(repo / "absent") is None


def test_apply_refuses_a_run_whose_snapshot_is_missing_and_deletes_nothing(repo: Path) -> None:
    gitrun(repo, "-q", "--", "true")
    run_id = gitrun(repo, "list", "--json").stdout.split('"id": "')[1].split('"')[0]
    snapshot = git(repo, "rev-parse", f"refs/experiments/{run_id}~1").strip()
    # A pulled run can lack its snapshot (a partial fetch, a forged ref): remove the loose object.
    (repo / ".git" / "objects" / snapshot[:2] / snapshot[2:]).unlink()
    result = gitrun(repo, "apply", run_id, check=False)
    assert result.returncode != 0 and "snapshot commit" in result.stderr and "Traceback" not in result.stderr
    assert (repo / "train.py").exists() and (repo / "README.md").exists()


def test_the_journal_reads_and_writes_plain_text(repo: Path) -> None:
    store = open_store(repo)
    assert journal.read_journal(store.repo) == ("", None)
    journal.append_entry(store.repo, "tried a smaller lr", "done")
    text, tip = journal.read_journal(store.repo)
    assert "tried a smaller lr" in text and "· done" in text and isinstance(tip, str)
    new_tip = journal.save_journal(store.repo, "edited\n", tip, "journal: edit")
    assert journal.read_journal(store.repo) == ("edited\n", new_tip)
    from gitrun.store.refs import RefMoved

    with pytest.raises(RefMoved):  # written from a stale tip: the caller merges
        journal.save_journal(store.repo, "lost?\n", tip, "journal: edit")


def test_queue_jobs_by_hex_ids(repo: Path) -> None:
    store = open_store(repo)
    queue = LocalQueue(store.repo)
    doc = {"format": 1, "id": "01job", "state": "queued", "spec": {}}
    commit = write_job_commit(store.repo, doc, [_head(repo)], "queued")
    assert isinstance(commit, str) and queue.swap("01job", commit, None)
    assert queue.refs() == {"01job": commit}
    job = read_job(store.repo, "01job", commit)
    assert job.commit == commit and _plain(job)
    assert [found.commit for found in list_jobs(store.repo, queue.refs())[0]] == [commit]
    assert not queue.swap("01job", commit, _head(repo))  # a lost compare-and-swap
