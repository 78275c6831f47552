"""Sharing runs through a real git server (``git daemon`` on 127.0.0.1) between three users."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gitrun.store.merge import merge_docs
from tests.conftest import git
from tests.remote_helpers import Server, User, make_runs_fast, make_user, server_fixture, team_fixture  # noqa: F401


def _ids(user: User) -> set[str]:
    return {str(run["id"]) for run in user.runs()}


def _show(user: User, run_id: str) -> dict[str, Any]:
    return dict(json.loads(user.run("show", run_id, "--json").stdout))


@pytest.mark.slow  # a stress test: several processes and a real git daemon (>5 s)
def test_fresh_clone_after_pull_has_every_run_with_logs_and_data(team: list[User], server: Server,
                                                                   tmp_path: Path) -> None:
    ada, bob, _ = team
    (ada.path / "data.csv").write_text("x,y\n1,2\n")
    git(ada.path, "add", "data.csv")
    git(ada.path, "commit", "-q", "-m", "data")
    first = ada.record("python3", "-c", "print('loss: 0.25')", extra=("--data", "data.csv"))
    second = ada.record("python3", "-c", "print('loss: 0.125')")
    out = ada.run("push")
    assert "pushed 2 run(s)" in out.stdout
    assert set(server.refs()) == {f"refs/experiments/{first}", f"refs/experiments/{second}"}
    bob.record("echo", "bob was here")
    bob.run("push")

    fresh = make_user(server, tmp_path, "Dee")
    assert fresh.runs() == []
    out = fresh.run("pull")
    assert "3 new run(s)" in out.stdout
    assert len(_ids(fresh)) == 3
    mine, theirs = _show(ada, first), _show(fresh, first)
    for key in ("status", "command", "log", "data", "metrics", "commit", "result_commit", "env"):
        assert theirs.get(key) == mine.get(key), key
    assert "loss: 0.25" in fresh.run("show", first, "--log").stdout
    diff = fresh.run("diff", first, second, check=False)
    assert diff.returncode == 0, diff.stderr
    # Pull again: nothing new, nothing lost.
    assert "0 new run(s)" in fresh.run("pull").stdout
    assert len(_ids(fresh)) == 3


@pytest.mark.slow  # a stress test: several processes and a real git daemon (>5 s)
def test_concurrent_pushes_lose_nothing(team: list[User], server: Server, tmp_path: Path) -> None:
    recorded: dict[str, set[str]] = {}
    for user in team:
        user.run("-q", "--", "echo", f"{user.name} recorded this")  # one real recording each
        made = make_runs_fast(user.path, 10, user.name.lower())  # and many more, fast
        recorded[user.name] = _ids(user)
        assert len(recorded[user.name]) == 11 and set(made) <= recorded[user.name]

    barrier = threading.Barrier(len(team))
    results: dict[str, subprocess.CompletedProcess[str]] = {}

    def push(user: User) -> None:
        barrier.wait()
        results[user.name] = user.run("push", check=False)

    threads = [threading.Thread(target=push, args=(user,)) for user in team]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, result in results.items():
        assert result.returncode == 0, f"{name}: {result.stdout} {result.stderr}"
    everyone = set().union(*recorded.values())
    assert {ref.rsplit("/", 1)[1] for ref in server.refs()} == everyone

    fresh = make_user(server, tmp_path, "Dee")
    fresh.run("pull")
    runs = fresh.runs()
    assert {str(run["id"]) for run in runs} == everyone
    assert all(run["status"] == "succeeded" for run in runs)  # every note arrived, not just the refs
    assert {str(run["user"]) for run in runs} == {"ada", "bob", "cy"}
    assert len(runs) == 33


@pytest.mark.slow  # a stress test: several processes and a real git daemon (>5 s)
def test_concurrent_tags_and_notes_on_one_run_merge(team: list[User]) -> None:
    ada, bob, cy = team
    run_id = ada.record("echo", "shared")
    ada.run("push")
    bob.run("pull")
    cy.run("pull")
    ada.run("tag", run_id, "from-ada")
    bob.run("tag", run_id, "from-bob")
    cy.run("tag", run_id, "from-cy")
    bob.run("note", run_id, "-m", "Bob: looks good")
    cy.run("note", run_id, "-m", "Cy: rerun with seed 2")

    barrier = threading.Barrier(3)
    results: list[subprocess.CompletedProcess[str]] = []

    def push(user: User) -> None:
        barrier.wait()
        results.append(user.run("push", check=False))

    threads = [threading.Thread(target=push, args=(user,)) for user in team]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result.returncode == 0 for result in results), [r.stderr for r in results]
    for user in team:
        user.run("pull")
        shown = _show(user, run_id)
        assert {"from-ada", "from-bob", "from-cy"} <= set(shown["tags"]), user.name
        note = str(shown.get("note", ""))
        assert "Bob: looks good" in note and "Cy: rerun with seed 2" in note, user.name
        assert shown["status"] == "succeeded"


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_untag_on_one_side_and_tag_on_the_other_both_survive(team: list[User]) -> None:
    ada, bob, _ = team
    run_id = ada.record("echo", "x", extra=("--tag", "old"))
    ada.run("push")
    bob.run("pull")
    ada.run("untag", run_id, "old")
    bob.run("tag", run_id, "new")
    ada.run("push")
    bob.run("push")
    ada.run("pull")
    tags = set(_show(ada, run_id)["tags"])
    assert tags == {"new"}


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_push_explicit_runs_keeps_other_runs_and_their_metadata_home(team: list[User], server: Server) -> None:
    ada, bob, _ = team
    shared = ada.record("echo", "share me")
    private = ada.record("echo", "keep me")
    ada.run("push", "origin", shared)
    assert set(server.refs()) == {f"refs/experiments/{shared}"}
    notes = git(server.bare, "ls-tree", "-r", "--name-only", "refs/notes/gitrun").split()
    assert len(notes) == 1  # the private run's metadata did not leave the machine
    bob.run("pull")
    assert _ids(bob) == {shared}
    ada.run("push", shared)  # RUN without REMOTE: the default remote
    again = ada.run("push", "--where", f"id == '{shared}'", check=False)
    assert again.returncode == 0 and "up to date" in again.stdout + again.stderr, again
    assert private in _ids(ada)


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_remote_setup_makes_plain_fetch_bring_runs_and_can_be_undone(team: list[User]) -> None:
    ada, bob, _ = team
    run_id = ada.record("echo", "hello")
    ada.run("push")
    out = bob.run("remote", "setup")
    assert "git config --unset-all remote.origin.fetch" in out.stdout
    git(bob.path, "fetch", "-q")
    tracked = git(bob.path, "for-each-ref", "--format=%(refname)", "refs/gitrun/remotes/origin/")
    assert f"refs/gitrun/remotes/origin/experiments/{run_id}" in tracked
    assert "refs/gitrun/remotes/origin/notes" in tracked
    bob.run("pull", "--no-fetch")
    assert _ids(bob) == {run_id}
    bob.run("remote", "setup", "--undo")
    assert "refs/experiments" not in git(bob.path, "config", "--get-all", "remote.origin.fetch")


def test_plain_fetch_does_not_pay_for_runs_without_setup(team: list[User], server: Server) -> None:
    ada, bob, _ = team
    ada.record("echo", "one")
    ada.run("push")
    # Many runs on the server: fake refs pointing at an existing commit.
    head = git(server.bare, "rev-parse", "main").strip()
    lines = "".join(f"create refs/experiments/01zzzzzzzzzzzzzzzzzzzz{i:04d} {head}\n" for i in range(2000))
    subprocess.run(["git", "update-ref", "--stdin"], input=lines, text=True, cwd=server.bare, check=True)
    trace = bob.path.parent / "trace.txt"
    env = {**os.environ, "GIT_TRACE_PACKET": str(trace)}
    subprocess.run(["git", "-c", "protocol.version=2", "fetch", "-q", "origin"], cwd=bob.path, env=env,
                   check=True)
    text = trace.read_text()
    assert "ls-refs" in text
    assert "refs/experiments/" not in text  # the server never advertised the runs' refs


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_rm_remote_deletes_everywhere_and_stays_deleted(team: list[User], server: Server) -> None:
    ada, bob, _ = team
    doomed = ada.record("echo", "doomed")
    kept = ada.record("echo", "kept")
    ada.run("push")
    bob.run("pull")
    ada.run("rm", "--remote", "--yes", doomed)
    assert set(server.refs()) == {f"refs/experiments/{kept}"}
    assert _ids(ada) == {kept}
    out = bob.run("pull")
    assert "1 removed" in out.stdout
    assert _ids(bob) == {kept}
    bob.run("push")  # a stale clone must not bring it back
    assert set(server.refs()) == {f"refs/experiments/{kept}"}


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_local_rm_does_not_delete_from_the_remote(team: list[User], server: Server) -> None:
    ada, bob, _ = team
    run_id = ada.record("echo", "x")
    ada.run("push")
    ada.run("rm", "--yes", run_id)
    ada.run("push")
    assert set(server.refs()) == {f"refs/experiments/{run_id}"}
    bob.run("pull")
    assert _show(bob, run_id)["status"] == "succeeded"


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_unknown_remote_is_a_clear_error(team: list[User]) -> None:
    result = team[0].run("push", "nowhere", "--where", "status == 'x'", check=False)
    assert result.returncode != 0 or "no run matches" in result.stdout
    result = team[0].run("pull", "nowhere", check=False)
    assert result.returncode == 2 and "no remote named 'nowhere'" in result.stderr
    assert "Traceback" not in result.stderr


# --- the merge itself ----------------------------------------------------------------------------

def test_merge_docs_keys() -> None:
    base = {"status": "running", "tags": ["a", "b"], "note": "base", "accepted": [{"check": "data"}],
            "updated": "2026-01-01T00:00:00.000Z", "params": {"lr": 0.1}}
    ours = {**base, "status": "succeeded", "tags": ["a", "b", "c"], "note": "base\n\nours",
            "accepted": [{"check": "data"}, {"check": "code"}], "updated": "2026-01-02T00:00:00.000Z",
            "params": {"lr": 0.2}}
    theirs = {**base, "tags": ["b", "d"], "note": "base\n\ntheirs", "accepted": [{"check": "data"},
              {"check": "secrets"}], "updated": "2026-01-03T00:00:00.000Z", "params": {"lr": 0.3}}
    merged = merge_docs(base, ours, theirs)
    assert merged["status"] == "succeeded"  # only one side changed it
    assert merged["tags"] == ["b", "c", "d"]  # union, minus what either removed
    assert "ours" in merged["note"] and "theirs" in merged["note"]
    assert merged["accepted"] == [{"check": "data"}, {"check": "code"}, {"check": "secrets"}]
    assert merged["params"] == {"lr": 0.3}  # theirs is newer
    assert merged["conflicts"] == [{"key": "params.lr", "other": 0.2}]
    assert merged["updated"] == "2026-01-03T00:00:00.000Z"
    tomb = {"id": "x", "deleted": True, "updated": "2026-01-01T00:00:00.000Z"}
    assert merge_docs(base, tomb, theirs) == tomb


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_many_runs_chosen_or_all_are_pushed_without_leftovers(team: list[User], server: Server) -> None:
    ada, bob, _ = team
    ids = make_runs_fast(ada.path, 130)
    chosen = ids[:60]
    ada.run("push", "origin", *chosen)  # many chosen runs: through a private staging namespace
    assert {ref.rsplit("/", 1)[1] for ref in server.refs()} == set(chosen)
    assert git(ada.path, "for-each-ref", "refs/gitrun/push/") == ""  # the staging refs are gone
    ada.run("push")  # the rest, with one glob
    assert {ref.rsplit("/", 1)[1] for ref in server.refs()} == set(ids)
    out = bob.run("pull").stdout
    assert "130 new run(s)" in out
    assert len(bob.runs()) == 130


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_run_pushed_while_running_is_replaced_when_it_ends(team: list[User], server: Server) -> None:
    ada, bob, _ = team
    proc = subprocess.Popen([sys.executable, "-m", "gitrun", "-q", "--", "sleep", "3"], cwd=ada.path,
                            env={**os.environ, **ada.env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not git(ada.path, "for-each-ref", "refs/experiments/") and time.monotonic() < deadline:
        time.sleep(0.05)
    run_id = git(ada.path, "for-each-ref", "--format=%(refname:lstrip=2)", "refs/experiments/").strip()
    ada.run("push", "--no-verify")
    first = server.refs()[f"refs/experiments/{run_id}"]
    out = bob.run("fetch").stdout
    assert "fetched 1 run(s)" in out and bob.runs() == []  # fetch does not merge
    bob.run("pull")
    assert _show(bob, run_id)["status"] == "running"
    assert proc.wait(timeout=30) == 0
    ada.run("push")
    assert server.refs()[f"refs/experiments/{run_id}"] != first  # replaced, by lease on the old value
    out = bob.run("pull").stdout
    assert "1 updated" in out
    shown = _show(bob, run_id)
    assert shown["status"] == "succeeded" and shown["result_commit"] == _show(ada, run_id)["result_commit"]
