"""The store as a library (gitrun/store/library.py): plain data, usable from a worker thread."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pygit2
import pytest

from gitrun.model.run import Run
from gitrun.store.library import COLUMNS, FULL, LITE, Store
from tests.test_index import runs_repo, template_repo  # noqa: F401 - fixtures


def _plain(value: Any) -> bool:
    """No pygit2 object anywhere inside ``value``."""
    if isinstance(value, pygit2.Object | pygit2.Oid | pygit2.Reference | pygit2.Repository):
        return False
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return all(_plain(getattr(value, item.name)) for item in dataclasses.fields(value))
    if isinstance(value, dict):
        return all(_plain(key) and _plain(item) for key, item in value.items())
    if isinstance(value, list | tuple | set):
        return all(_plain(item) for item in value)
    return True


def test_every_detail_lists_the_same_runs_in_the_same_order(runs_repo: Path) -> None:  # noqa: F811
    store = Store(runs_repo)
    full = store.runs(FULL)
    for detail in (COLUMNS, "columns:params,metrics", LITE):
        runs = store.runs(detail)
        assert [run.id for run in runs] == [run.id for run in full]
        assert [(run.name, run.status, run.tags, run.branch, run.result_commit) for run in runs] == [
            (run.name, run.status, run.tags, run.branch, run.result_commit) for run in full]
        assert _plain(runs)
    assert store.runs("columns:metrics")[0].section("metrics") == full[0].section("metrics")
    assert "env" not in store.runs(LITE)[0].doc and "env" in full[0].doc


def test_select_resolve_tag_note_and_query_from_a_worker_thread(runs_repo: Path) -> None:  # noqa: F811
    store = Store(runs_repo)

    def work() -> tuple[Any, ...]:
        chosen = store.select(where="metrics.acc > 0.5", sort="-metrics.acc", limit=3, all_branches=True)
        best = store.resolve(chosen.runs[0].id[:12])
        tags = store.tag(chosen.runs[0], ["from-thread"])
        note = store.set_note(best, "looks good")
        query = store.query("SELECT count(*) FROM tags WHERE tag = 'from-thread'")
        return chosen, best, tags, note, query

    with ThreadPoolExecutor(1) as pool:
        chosen, best, tags, note, query = pool.submit(work).result()
    assert len(chosen.runs) == 3 and _plain(chosen) and _plain(best)
    accs = [run.doc["metrics"]["acc"] for run in chosen.runs]
    assert accs == sorted(accs, reverse=True) and min(accs) > 0.5
    assert "from-thread" in tags and note == "looks good\n"
    assert query == (["count(*)"], [(1,)])
    again = store.get(best.id)
    assert "from-thread" in again.tags and again.doc["note"] == "looks good\n"


def test_a_bad_expression_is_a_usage_error(runs_repo: Path) -> None:  # noqa: F811
    from gitrun.errors import UsageError

    with pytest.raises(UsageError):
        Store(runs_repo).select(where="metrics.acc >")


def test_live_overlay_leaves_finished_runs_alone(runs_repo: Path) -> None:  # noqa: F811
    store = Store(runs_repo)
    run = store.runs(COLUMNS)[0]
    assert store.with_live_metrics(run) is run
    assert isinstance(run, Run)


def test_the_journal_from_worker_threads_loses_no_entry(runs_repo: Path) -> None:  # noqa: F811
    stores = [Store(runs_repo), Store(runs_repo)]  # two repository handles: two writers racing

    def write(index: int) -> None:
        for entry in range(5):
            stores[index].add_journal_entry(f"writer {index} entry {entry}", "done")

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(write, [0, 1]))
    text = Store(runs_repo).journal()
    assert isinstance(text, str)
    assert all(f"writer {index} entry {entry}" in text for index in (0, 1) for entry in range(5)), text


def test_baselines_move_between_runs_and_delete_from_a_worker_thread(runs_repo: Path) -> None:  # noqa: F811
    store = Store(runs_repo)
    first, second, doomed = store.runs(COLUMNS)[:3]

    def work() -> tuple[Any, ...]:
        marked = store.mark_baseline(first, "main")
        moved = store.mark_baseline(second, "main")
        other = store.mark_baseline(first, "feature")
        marks = store.baselines()
        store.delete([doomed])
        cleared = store.mark_baseline(None, "feature")
        return marked, moved, other, marks, cleared, store.baselines()

    with ThreadPoolExecutor(1) as pool:
        marked, moved, other, marks, cleared, after = pool.submit(work).result()
    assert marked.previous == [] and _plain(marked)
    assert [(mark.run_id, mark.name) for mark in moved.previous] == [(first.id, first.name)]  # one per branch
    assert other.previous == []
    assert [(mark.branch, mark.run_id) for mark in marks] == [("feature", first.id), ("main", second.id)]
    assert [mark.run_id for mark in cleared.previous] == [first.id]
    assert [(mark.branch, mark.run_id) for mark in after] == [("main", second.id)]
    assert doomed.id not in {run.id for run in store.runs(COLUMNS)}
    assert store.get(second.id).doc["baseline_of"] == ["main"]  # in the note itself, not only the index
    bases = {str(run.git.get("base_commit")) for run in store.runs(COLUMNS) if run.git.get("base_commit")}
    reachable = store.reachable_bases(bases)
    assert reachable and reachable <= bases
