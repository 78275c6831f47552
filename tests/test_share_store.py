"""The sharing engine as a library (``gitrun.store.sharing.Sharing``), in-process against file remotes:
plain results, a first pull that writes each run ref once, and no auto-maintenance inside push or pull."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from gitrun.model.ids import new_run_id, new_run_name
from gitrun.model.run import Run
from gitrun.model.timefmt import to_iso, utc_now
from gitrun.store.git import TRACE_ENV, open_repository
from gitrun.store.sharing import PullResult, PushResult, Sharing
from gitrun.store.trees import build_tree
from tests.conftest import git, gitrun_in_process


def _engine(path: Path) -> Sharing:
    repo, paths = open_repository(path)
    return Sharing(repo, paths)


def _start_run(engine: Sharing) -> Run:
    """A run as ``git run`` starts it: status running, an empty result commit."""
    repo = engine.repo
    head = repo.head.peel(pygit2.Commit)
    run_id = new_run_id()
    now = to_iso(utc_now())
    doc = {"schema": 1, "id": run_id, "name": new_run_name(), "status": "running", "command": ["true"],
           "started": now, "user": "ada", "host": "test", "tags": []}
    tree = build_tree(repo, {"train.py": b"print('loss: 0.5')\n", "params.yaml": f"seed: {run_id}\n".encode()})
    return engine.runs.create(run_id, tree, head.id, "a run", doc)


def _finish(engine: Sharing, run: Run) -> None:
    run = engine.runs.save_result(run, {"logs/output.log": b"loss: 0.25\n"})
    engine.runs.update_doc(run, lambda doc: {**doc, "status": "succeeded", "updated": to_iso(utc_now())},
                           "gitrun: end")


def _refs(path: Path, prefix: str) -> dict[str, str]:
    out = git(path, "for-each-ref", "--format=%(refname) %(objectname)", prefix)
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


@pytest.fixture(name="shared")
def shared_fixture(repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(the recording clone, the bare remote it pushes to)."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    return repo, remote


def _clone(remote: Path, where: Path) -> Path:
    git(where.parent, "clone", "-q", str(remote), str(where))
    return where


def test_push_and_pull_return_plain_results(shared: tuple[Path, Path], tmp_path: Path) -> None:
    repo, remote = shared
    ada = _engine(repo)
    runs = [_start_run(ada) for _ in range(3)]
    for run in runs:
        _finish(ada, run)
    pushed = ada.push(ada.resolve_remote(None))
    assert isinstance(pushed, PushResult)
    assert pushed.remote == "origin" and sorted(pushed.pushed_runs) == sorted(run.id for run in runs)
    assert pushed.published_notes and pushed.deleted_runs == []
    assert ada.push("origin") is None  # nothing left to push

    bob = _engine(_clone(remote, tmp_path / "bob"))
    pulled = bob.pull("origin")
    assert isinstance(pulled, PullResult)
    assert pulled.new_runs == sorted(run.id for run in runs)
    assert pulled.merged_notes == 3 and pulled.kept_local == [] and pulled.removed_runs == []
    assert all(isinstance(run_id, str) for run_id in pulled.new_runs)
    fetched = bob.fetch("origin")
    assert (fetched.remote, fetched.runs) == ("origin", 3)


def test_a_first_pull_writes_each_run_ref_once(shared: tuple[Path, Path], tmp_path: Path) -> None:
    repo, remote = shared
    ada = _engine(repo)
    run = _start_run(ada)
    ada.push("origin")
    bob_path = _clone(remote, tmp_path / "bob")
    bob = _engine(bob_path)
    assert bob.pull("origin").new_runs == [run.id]
    assert _refs(bob_path, "refs/experiments/") == _refs(remote, "refs/experiments/")
    # Straight into refs/experiments: no per-run tracking ref was written besides it.
    assert _refs(bob_path, "refs/gitrun/remotes/origin/experiments/") == {}

    # The owner finishes the run and pushes it: the next pull moves bob's copy, though bob has no
    # tracking ref of it (the remote's result commit is the later one).
    _finish(ada, run)
    ada.push("origin")
    again = bob.pull("origin")
    assert again.updated_runs == [run.id] and again.kept_local == []
    assert _refs(bob_path, "refs/experiments/") == _refs(remote, "refs/experiments/")


def test_a_run_finished_here_after_pushing_it_is_kept_by_a_pull(shared: tuple[Path, Path]) -> None:
    repo, _remote = shared
    ada = _engine(repo)
    run = _start_run(ada)
    ada.push("origin")
    _finish(ada, run)
    mine = _refs(repo, "refs/experiments/")
    pulled = ada.pull("origin")
    assert pulled.kept_local == [run.id] and pulled.updated_runs == []
    assert _refs(repo, "refs/experiments/") == mine


def test_a_first_pull_drops_runs_deleted_everywhere(shared: tuple[Path, Path], tmp_path: Path) -> None:
    repo, remote = shared
    ada = _engine(repo)
    doomed, kept = _start_run(ada), _start_run(ada)
    ada.push("origin")
    cy = _engine(_clone(remote, tmp_path / "cy"))
    cy.pull("origin")
    # Cy deletes one run everywhere; a stale ref of it is put back on the server by hand.
    cy.delete_everywhere([cy.runs.get(doomed.id)], "origin")
    git(remote, "update-ref", f"refs/experiments/{doomed.id}", doomed.result_commit)
    bob_path = _clone(remote, tmp_path / "bob")
    pulled = _engine(bob_path).pull("origin")
    assert pulled.new_runs == [kept.id]
    assert list(_refs(bob_path, "refs/experiments/")) == [f"refs/experiments/{kept.id}"]


def _loose_objects(path: Path) -> int:
    return int(git(path, "count-objects").split()[0])


def _make_auto_gc_due(clone: Path) -> None:
    """Any fetch or commit in ``clone`` now runs a blocking ``gc --auto`` that packs every loose object."""
    git(clone, "config", "gc.auto", "1")
    git(clone, "config", "gc.autoDetach", "false")
    git(clone, "config", "maintenance.auto", "true")
    repo = pygit2.Repository(str(clone))
    number, in_17 = 0, 0
    while in_17 < 3:  # gc --auto estimates the loose objects from objects/17 alone
        in_17 += str(repo.create_blob(f"loose {number}\n".encode())).startswith("17")  # a loose object
        number += 1


def test_push_and_pull_start_no_auto_maintenance(shared: tuple[Path, Path], tmp_path: Path) -> None:
    repo, remote = shared
    ada = _engine(repo)
    _finish(ada, _start_run(ada))
    ada.push("origin")
    bob_path = _clone(remote, tmp_path / "bob")
    bob = _engine(bob_path)
    bob.pull("origin")  # bob now has runs: the next pull takes the general path
    _make_auto_gc_due(bob_path)
    _finish(ada, _start_run(ada))
    ada.push("origin")

    loose = _loose_objects(bob_path)
    assert bob.pull("origin").new_runs
    assert _loose_objects(bob_path) >= loose  # nothing packed them
    run = _start_run(bob)
    _finish(bob, run)
    loose = _loose_objects(bob_path)
    assert bob.push("origin") is not None
    assert _loose_objects(bob_path) >= loose
    # The check itself can fail: a plain fetch here does pack them.
    git(bob_path, "fetch", "-q", "origin")
    assert _loose_objects(bob_path) < loose


def test_the_direct_fetch_never_overwrites_a_local_run(shared: tuple[Path, Path], tmp_path: Path) -> None:
    from gitrun.store.sharing.remote import fetch_runs_directly

    repo, remote = shared
    ada = _engine(repo)
    run = _start_run(ada)
    ada.push("origin")
    bob_path = _clone(remote, tmp_path / "bob")
    # A run ref that appeared in bob's clone while the first pull started, at an unrelated commit
    # (the remote's is no fast-forward of it: git would allow that, since it loses nothing).
    other = git(bob_path, "commit-tree", "-m", "unrelated", "HEAD^{tree}").strip()
    git(bob_path, "update-ref", f"refs/experiments/{run.id}", other)
    assert fetch_runs_directly(_engine(bob_path).repo, bob_path, "origin") is False  # git refused: not forced
    assert _refs(bob_path, "refs/experiments/") == {f"refs/experiments/{run.id}": other}
    # The general path then decides by the newer-result rule (no tracking ref of it yet).
    pulled = _engine(bob_path).pull("origin")
    assert run.id in pulled.updated_runs + pulled.kept_local and pulled.new_runs == []


def _tag(engine: Sharing, run_id: str, tag: str) -> None:
    def add(doc: dict[str, object]) -> dict[str, object]:
        tags = doc.get("tags")
        return {**doc, "tags": sorted({*(tags if isinstance(tags, list) else []), tag}),
                "updated": to_iso(utc_now())}

    engine.runs.update_doc(engine.runs.get(run_id), add, f"gitrun: tag {tag}")


def _git_steps(trace: Path, every: bool = False) -> list[str]:
    """The git pushes and fetches gitrun ran (``every``: all its git processes), as ``GITRUN_TRACE_GIT``
    wrote them when each ended, e.g. ["git push", "git fetch"]."""
    steps = [line.split("\t", 1)[1].split()[:2] for line in trace.read_text().splitlines()] if trace.exists() else []
    trace.unlink(missing_ok=True)
    return [" ".join(step) for step in steps if every or step[1] in ("push", "fetch")]


def _a_pushed_run(repo: Path) -> tuple[Sharing, Run]:
    """Ada's engine and a finished run of hers, pushed to origin."""
    ada = _engine(repo)
    run = _start_run(ada)
    _finish(ada, run)
    ada.push("origin")
    return ada, run


def test_an_optimistic_push_meets_moved_notes_and_the_merge_keeps_both_sides(
        shared: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, remote = shared
    ada, run = _a_pushed_run(repo)
    bob_path = _clone(remote, tmp_path / "bob")
    bob = _engine(bob_path)
    bob.pull("origin")
    bob.fetch("origin")  # bob's picture of the remote is whole: his next push goes without a fetch
    trace = tmp_path / "trace.txt"
    monkeypatch.setenv(TRACE_ENV, str(trace))

    _tag(bob, run.id, "bob-first")
    assert bob.push("origin") is not None
    assert _git_steps(trace) == ["git push"]  # one connection

    # Both tag the same run; ada pushes first, so bob's picture is stale when he pushes.
    _tag(ada, run.id, "from-ada")
    ada.push("origin")
    _tag(bob, run.id, "from-bob")
    bobs_run = _start_run(bob)
    _finish(bob, bobs_run)
    trace.unlink(missing_ok=True)
    pushed = bob.push("origin")
    assert pushed is not None and pushed.pushed_runs == [bobs_run.id]
    assert _git_steps(trace) == ["git push", "git fetch", "git push"]  # rejected by the lease, merged, again

    monkeypatch.delenv(TRACE_ENV)
    fresh = _engine(_clone(remote, tmp_path / "dee"))
    fresh.pull("origin")
    assert fresh.runs.get(run.id).doc["tags"] == ["bob-first", "from-ada", "from-bob"]
    assert fresh.runs.get(bobs_run.id).doc["status"] == "succeeded"
    assert sorted(_refs(remote, "refs/experiments/")) == sorted(
        f"refs/experiments/{run_id}" for run_id in (run.id, bobs_run.id))


def test_an_optimistic_push_never_revives_a_run_deleted_meanwhile(shared: tuple[Path, Path],
                                                                   tmp_path: Path) -> None:
    repo, remote = shared
    ada = _engine(repo)
    doomed, kept = _start_run(ada), _start_run(ada)
    ada.push("origin")
    bob_path = _clone(remote, tmp_path / "bob")
    bob = _engine(bob_path)
    bob.pull("origin")
    bob.fetch("origin")
    ada.delete_everywhere([ada.runs.get(doomed.id)], "origin")  # bob has not seen it
    # Bob's stale picture says the doomed run is on the remote; with more than 50 new runs the
    # push uses one glob of every local run, the doomed one included, unless the lease stops it.
    new = [_start_run(bob) for _ in range(51)]
    pushed = bob.push("origin")
    assert pushed is not None and doomed.id not in pushed.pushed_runs
    assert set(_refs(remote, "refs/experiments/")) == {
        f"refs/experiments/{run_id}" for run_id in [kept.id, *(run.id for run in new)]}


def test_a_first_pull_on_the_command_line_fetches_once_while_gitrun_starts(shared: tuple[Path, Path],
                                                                          tmp_path: Path) -> None:
    repo, remote = shared
    _ada, run = _a_pushed_run(repo)
    bob_path = _clone(remote, tmp_path / "bob")
    trace = tmp_path / "trace.txt"
    out = gitrun_in_process(bob_path, "pull", env={TRACE_ENV: str(trace)})
    assert out.returncode == 0 and "1 new run(s)" in out.stdout, out.stderr
    # Two quick questions (any run here? which remote?), the fetch started then, before the imports,
    # and taken by the pull: no other git process.
    assert _git_steps(trace, every=True) == ["git for-each-ref", "git config", "git for-each-ref", "git fetch"]
    assert _refs(bob_path, "refs/experiments/") == _refs(remote, "refs/experiments/")
    assert git(bob_path, "show", "-s", "--format=%s", f"refs/experiments/{run.id}")
    # The next pull (bob has runs now) takes the general path: no early fetch.
    out = gitrun_in_process(bob_path, "pull", env={TRACE_ENV: str(trace)})
    assert "0 new run(s)" in out.stdout and _git_steps(trace) == ["git fetch"]


def test_no_early_fetch_unless_the_pull_would_make_that_very_fetch(shared: tuple[Path, Path], tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from gitrun.store.prefetch import start_first_pull, take_first_pull

    repo, remote = shared
    ada = _engine(repo)
    _start_run(ada)
    ada.push("origin")
    bob_path = _clone(remote, tmp_path / "bob")
    git(bob_path, "remote", "add", "other", str(remote))
    monkeypatch.chdir(bob_path)
    for args in (["--no-fetch"], ["nowhere"], ["origin", "extra"], ["-h"]):
        start_first_pull(args)
        assert take_first_pull("origin") is None and take_first_pull("nowhere") is None, args
    assert _refs(bob_path, "refs/experiments/") == {}
    git(bob_path, "config", "branch.main.remote", "other")
    start_first_pull([])  # the branch's upstream remote
    result = take_first_pull("other")
    assert result is not None and result.returncode == 0
    cy_path = _clone(remote, tmp_path / "cy")
    monkeypatch.chdir(cy_path)
    start_first_pull(["origin"])
    assert take_first_pull("other") is None  # waited for, and not taken for another remote
    monkeypatch.chdir(repo)  # ada has runs: not a first pull
    start_first_pull([])
    assert take_first_pull("origin") is None
