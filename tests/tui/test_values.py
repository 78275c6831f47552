"""The runs table filters and sorts through values resolved once per load: the answers must be the
query language's own (``git run list --where``), only faster."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gitrun.model import fields
from gitrun.model.query import parse
from gitrun.model.run import Run
from gitrun.tui.columns import column, sort_runs, sort_value
from gitrun.tui.values import ValueCache, compile_filter

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def run(run_id: str, status: str = "succeeded", **doc: Any) -> Run:
    return Run(run_id, f"refs/experiments/{run_id}", "0" * 40, "1" * 40,
               {"id": run_id, "name": run_id, "status": status, **doc})


RUNS = [
    run("r1", params={"lr": 0.1, "opt": "adam"}, metrics={"acc": 0.91}, tags=["good"], duration_s=10.0,
        started="2026-11-30T10:00:00Z"),
    run("r2", params={"lr": "0.01", "opt": "sgd"}, metrics={"acc": "n/a"}, tags=[], duration_s=30.0),
    run("r3", params={"lr": 1}, metrics={"acc": float("nan")}, tags=["good", "bad"]),
    run("r4", "running", params={"lr": 0.5}, metrics={"acc": 0.5}, started="2026-11-30T23:00:00Z"),
    run("r5", params={"lr": True}, metrics={}, duration_s=5.0),
]
EXPRESSIONS = [
    "metrics.acc > 0.5", "metrics.acc >= 0.5 and params.lr < 0.2", "params.lr == 1", "params.lr != 0.1",
    "params.lr == 0.01", "params.lr < 1 or tag == bad", "not metrics.acc > 0.5", "tag != bad", "tag == good",
    "params.opt == adam", "params.opt ~ '^s'", "metrics.acc", "duration > 8", "age > 3600",
    "params.lr == true", "metrics.acc > 0.1 and params.lr > 0 and duration < 100", "since 1d",
    "(params.lr > 0.2 or params.opt == sgd) and not tag == good",
]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_compiled_filter_answers_like_the_query_language(text: str) -> None:
    query = parse(text, "filter")
    expected = [item.id for item in RUNS if query.matches(lambda path, item=item: fields.resolve(item, path, NOW), NOW)]
    cache = ValueCache()
    matcher = compile_filter(text, NOW, cache)
    assert matcher is not None
    assert [item.id for item in RUNS if matcher(item)] == expected
    assert [item.id for item in RUNS if matcher(item)] == expected  # again, from the kept values


def test_a_running_runs_live_values_are_never_kept() -> None:
    cache = ValueCache()
    live = run("r9", "running", metrics={"acc": 0.2})
    matcher = compile_filter("metrics.acc > 0.5", NOW, cache)
    assert matcher is not None and not matcher(live)
    live.doc["metrics"] = {"acc": 0.8}  # a new point arrived (RunSource.apply_live)
    assert matcher(live)
    done = run("r8", metrics={"acc": 0.2})
    assert not matcher(done)
    assert cache.get(done, ("metrics", "acc"), NOW) == [0.2]  # kept for the next keystroke


@pytest.mark.parametrize("key", ["duration", "name", "age", "params.lr", "metrics.acc"])
def test_sorting_with_kept_keys_matches_a_fresh_sort(key: str) -> None:
    col = column(key)
    cache = ValueCache()
    for descending in (False, True, False):
        fresh = sorted(RUNS, key=lambda item: sort_value(item, col, NOW), reverse=descending)
        fresh = [item for item in fresh if sort_value(item, col, NOW)[0] < 2] + \
            [item for item in RUNS if sort_value(item, col, NOW)[0] == 2]
        assert [item.id for item in sort_runs(RUNS, col, descending, NOW, cache)] == [item.id for item in fresh]
