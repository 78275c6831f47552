"""``git run list --where/--sort`` on the default table reads field values straight from the index's
rows (``store.row_fields``) and runs the expression compiled once (``model.query_compiled``). Its
answers must be the query language's reference evaluation (``Query.matches`` over ``fields.resolve``
on the ``Run`` the index builds from the same row), ``select_runs``' order and its notes: the same
runs in the same order, the same "no run has X" notes, whatever the notes hold (NaN, huge integers,
text where numbers are expected, nested tables, missing fields)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gitrun.model import fields
from gitrun.model.query import QueryError, fields_of, parse, parse_sort
from gitrun.model.query_compiled import RunValues, compile_query
from gitrun.model.run import Run
from gitrun.store.index import column_runs, create_tables, level_for, listing_rows, row_values, store_rows
from gitrun.store.row_fields import RowFields
from gitrun.store.selection import absent_fields, select_rows, select_runs

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FIELDS = ["metrics.acc", "metrics.loss", "params.lr", "params.opt", "params.optim.lr", 'params."optim.lr"',
          'metrics."train/loss"', "metrics.epoch", "summary.loss", "summary.loss.min", "name", "status", "tag",
          "duration", "age", "branch", "base", "commit", "exit_code", "message", "command", "expect", "baseline",
          "user", "started", "ended", "id", "expect.met"]
VALUES = ["0.5", "1", "0", "-1", "adam", "true", "false", "nan", "'0.01'", "'a b'", "1e3", "2026-11-28", "best",
          "main", "3d", "100000000000000000000"]
OPS = ["==", "!=", "<", "<=", ">", ">=", "~", "!~", "contains"]

numbers = st.one_of(st.floats(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.sampled_from([0, 1, 0.5, 0.9, 1e3, -1.0]))
scalars = st.one_of(numbers, st.booleans(), st.sampled_from(["adam", "0.01", "n/a", "", "1e3", "true", "a b"]))
section_values = st.one_of(scalars, st.dictionaries(st.sampled_from(["lr", "b"]), scalars, max_size=2),
                           st.lists(scalars, max_size=2))
section_keys = st.sampled_from(["acc", "lr", "opt", "optim", "optim.lr", "train/loss", "epoch"])
summary_entries = st.dictionaries(st.sampled_from(["last", "min", "max", "count"]), numbers, max_size=4)
moments = st.sampled_from(["2026-11-30T10:00:00Z", "2026-11-01T00:00:00+00:00", "2025-01-01T00:00:00Z"])


@st.composite
def documents(draw: st.DrawFn, number: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": draw(st.sampled_from(["a", "b", "best-run", ""])),
                           "status": draw(st.sampled_from(["succeeded", "failed", "running", "killed"])),
                           "message": draw(st.sampled_from(["", "try adam", "lr 0.01"]))}
    optional: dict[str, st.SearchStrategy[Any]] = {
        "started": moments, "ended": moments, "exit_code": st.integers(-2, 3), "duration_s": numbers,
        "user": st.just("ada"), "host": st.just("box"), "cwd": st.just("/w"),
        "tags": st.lists(st.sampled_from(["best", "bad", "imagenet:v3"]), max_size=2, unique=True),
        "baseline_of": st.lists(st.sampled_from(["main", "dev"]), max_size=2, unique=True),
        "expect": st.fixed_dictionaries({"met": st.booleans()}),
        "command": st.lists(st.sampled_from(["python", "train.py", "--lr", "0.01"]), max_size=3),
        "params": st.dictionaries(section_keys, section_values, max_size=4),
        "metrics": st.dictionaries(section_keys, section_values, max_size=4),
        "summary": st.dictionaries(st.sampled_from(["loss", "acc"]), summary_entries, max_size=2),
        "data": st.lists(st.fixed_dictionaries({"name": st.sampled_from(["imagenet", "best"]),
                                                "version": st.sampled_from(["v3", ""])}), max_size=2),
        "git": st.fixed_dictionaries({"branch": st.sampled_from(["main", ""]), "detached": st.booleans(),
                                      "base_commit": st.sampled_from(["", "a" * 40])}),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            doc[key] = draw(strategy)
    return doc


@st.composite
def expressions(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        field = draw(st.sampled_from(FIELDS))
        kind = draw(st.sampled_from(["compare", "compare", "present", "since"]))
        if kind == "present":
            part = field
        elif kind == "since":
            part = draw(st.sampled_from(["since 3d", "before 2026-11-15", "since 2026-11-30T09:00"]))
        else:
            part = f"{field} {draw(st.sampled_from(OPS))} {draw(st.sampled_from(VALUES))}"
        parts.append(("not " if draw(st.booleans()) else "") + part)
    return draw(st.sampled_from([" and ", " or "])).join(parts)


class Listing:
    """``RunIndex.listing_rows`` over one connection (the index's own SQL, without a repository)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def listing_rows(self, extra: Sequence[str] = (), parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return listing_rows(self.conn, extra, parameters)


def index_of(docs: list[dict[str, Any]]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    create_tables(conn)
    rows = []
    for number, doc in enumerate(docs):
        run_id = f"01m8t{number:021d}"
        rows.append(row_values(run_id, f"{number:040x}", f"{number + 1:040x}", f"{number + 2:040x}",
                               {"id": run_id, **doc}, None, None))
    store_rows(conn, rows)
    return conn


def reference(conn: sqlite3.Connection, where: str | None, sort: str | None,
              limit: int | None) -> tuple[list[str], int, list[str]]:
    """What ``git run list`` answered before: ``Run``s at the level the fields need, the tree walk."""
    query = parse(where, "--where expression") if where else None
    paths = (fields_of(query.root) if query else []) + ([parse_sort(sort)[0]] if sort else [])
    runs: list[Run] = column_runs(conn, level_for(paths))
    notes: list[str] = []
    if query is not None:
        notes = absent_fields(query, runs, NOW)
        runs = [run for run in runs if query.matches(lambda path, run=run: fields.resolve(run, path, NOW), NOW)]
    chosen = select_runs(runs, None, sort=sort, limit=limit, all_branches=True, now=NOW)  # type: ignore[arg-type]
    return [run.id for run in chosen.runs], chosen.matched, notes


def fast(conn: sqlite3.Connection, where: str | None, sort: str | None,
         limit: int | None) -> tuple[list[str], int, list[str]] | None:
    picked = select_rows(Listing(conn), None, where=where, sort=sort, limit=limit,  # type: ignore[arg-type]
                         all_branches=True, now=NOW)
    if picked is None:
        return None
    return [row[0] for row in picked.rows], picked.matched, picked.notes


def parsed(text: str) -> bool:
    try:
        parse(text, "--where expression")
    except QueryError:
        return False
    return True


@PROPERTY
@given(st.integers(0, 6).flatmap(lambda count: st.tuples(*[documents(number) for number in range(count)])),
       expressions(), st.sampled_from([None, *FIELDS, *[f"-{field}" for field in FIELDS]]),
       st.sampled_from([None, 1, 3]))
@example(({"name": "a", "status": "succeeded", "message": "", "metrics": {"acc": float("nan")}},
          {"name": "b", "status": "succeeded", "message": "", "metrics": {"acc": 2**65}},
          {"name": "c", "status": "failed", "message": "", "metrics": {"acc": "0.95"}}),
         "metrics.acc > 0.9", "-metrics.acc", None)
def test_rows_answer_like_the_reference_evaluation(docs: tuple[dict[str, Any], ...], where: str, sort: str | None,
                                                  limit: int | None) -> None:
    if not parsed(where):
        return
    conn = index_of(list(docs))
    chosen_where: str | None = where
    for chosen_where, chosen_sort in ((where, None), (None, sort), (where, sort)):
        expected = reference(conn, chosen_where, chosen_sort, limit)
        got = fast(conn, chosen_where, chosen_sort, limit)
        assert got is not None  # every field drawn here is in the rows
        assert got == expected


@PROPERTY
@given(st.integers(1, 8).flatmap(lambda count: st.tuples(*[documents(number) for number in range(count)])),
       st.lists(st.tuples(st.sampled_from(OPS), st.sampled_from(VALUES)), min_size=6, max_size=6),
       st.sampled_from([None, 2]))
def test_every_field_answers_like_the_reference(docs: tuple[dict[str, Any], ...], comparisons: list[tuple[str, str]],
                                               limit: int | None) -> None:
    """Each field on its own: sorted both ways, present, and compared a few ways (every drawn set of runs
    meets every field, so a field whose values differ by one detail is caught)."""
    conn = index_of(list(docs))
    for field in FIELDS:
        cases: list[tuple[str | None, str | None]] = [(None, field), (None, f"-{field}"), (field, None)]
        cases += [(f"{field} {op} {value}", None) for op, value in comparisons]
        for where, sort in cases:
            if where is not None and not parsed(where):
                continue
            assert fast(conn, where, sort, limit) == reference(conn, where, sort, limit), (where, sort)


@pytest.mark.parametrize("where", ["data.imagenet == v3", "env.python > 3", "note ~ x", "metrics.acc > 0.5 and "
                                   "hardware.gpu_count > 0", "expect.loss < 1"])
def test_fields_the_rows_do_not_hold_are_left_to_the_run_path(where: str) -> None:
    conn = index_of([{"name": "a", "status": "succeeded", "message": "", "metrics": {"acc": 0.9}}])
    assert not RowFields.supports(fields_of(parse(where).root))
    assert fast(conn, where, None, None) is None


@PROPERTY
@given(st.lists(documents(0), max_size=5), expressions())
def test_the_compiled_expression_is_the_tree_walk(docs: list[dict[str, Any]], where: str) -> None:
    """Over ``Run`` objects too (``select_runs``, the terminal UI): one compiler, the language's answers."""
    if not parsed(where):
        return
    query = parse(where)
    runs = [Run(f"r{number}", f"refs/experiments/r{number}", "0" * 40, "1" * 40, {"id": f"r{number}", **doc})
            for number, doc in enumerate(docs)]
    matches = compile_query(query.root, RunValues(NOW), NOW)
    assert [matches(run) for run in runs] == [
        query.matches(lambda path, run=run: fields.resolve(run, path, NOW), NOW) for run in runs]
