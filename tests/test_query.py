"""The --where / --expect / --columns / --sort expression language: parsing, evaluation, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gitrun.model import fields, query
from gitrun.model.run import Run

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def make_run(**doc: Any) -> Run:
    base: dict[str, Any] = {"id": "01kb3xq4r7aaaaaaaaaaaaaaaa", "name": "brisk-heron-42", "status": "succeeded",
                            "tags": ["zephyr-7b"], "git": {"branch": "main", "base_commit": "ab" * 20},
                            "started": (NOW - timedelta(days=1)).isoformat().replace("+00:00", "Z"),
                            "duration_s": 125.0, "command": ["python", "train.py"],
                            "params": {"lr": 0.001, "optim.name": "adam", "layers": 4},
                            "metrics": {"acc": 0.93, "loss": 0.21, "train/loss": 0.3},
                            "summary": {"loss": {"last": 0.21, "min": 0.2, "max": 2.0, "count": 10}},
                            "data": [{"name": "imagenet", "version": "v3", "hash": "blake3:abc", "path": "data/in"}],
                            "env": {"python": {"version": "3.11.7"},
                                    "packages": [{"name": "torch", "version": "2.1.0"}]}}
    base.update(doc)
    return Run(base["id"], "refs/experiments/x", "r" * 40, "s" * 40, base)


def matches(text: str, run: Run | None = None) -> bool:
    run = run or make_run()
    return query.parse(text).matches(lambda path: fields.resolve(run, path, NOW), NOW)


@pytest.mark.parametrize("text, expected", [
    ("metrics.acc > 0.9 and params.lr < 0.01", True),
    ("metrics.acc > 0.95", False),
    ("metrics.acc >= 0.93 and metrics.acc <= 0.93", True),
    ("status == succeeded", True),
    ("status == failed", False),
    ("status != failed", True),
    ("tag == zephyr-7b", True),
    ("tag != zephyr-7b", False),
    ("tag == llama", False),
    ("tag == imagenet:v3", True),  # dataset tags from the data section: name:version
    ("tag == imagenet", True),
    ("branch == main", True),
    ("since 3d", True),
    ("since 12h", False),
    ("before 12h", True),
    ("since 2026-11-01", True),
    ("not status == failed", True),
    ("status == failed or metrics.loss < 0.5", True),
    ("(status == failed or tag == x) and metrics.acc > 0", False),
    ("params.optim.name == adam", True),
    ("params.layers == 4", True),
    ('metrics."train/loss" < 0.5', True),
    ("metrics.train/loss < 0.5", True),
    ("summary.loss.min < 0.25", True),
    ("summary.loss.max > 1", True),
    ("name ~ heron", True),
    ("name !~ '^brisk'", False),
    ("command ~ train", True),
    ("duration > 2m", True),
    ("duration < 120", False),
    ("params.missing == 1", False),
    ("params.lr", True),
    ("params.missing", False),
    ("not params.missing", True),
    ("data.imagenet == v3", True),
    ("data.imagenet.hash == 'blake3:abc'", True),
    ("env.python == 3.11.7", True),
    ("env.packages.torch == 2.1.0", True),
    ("metrics.acc > 0.9 and not (tag == a or tag == b)", True),
    ("STATUS == succeeded AND metrics.acc > 0.9" .replace("STATUS", "status"), True),
    ("true", True),
    ("started > 2026-11-01", True),
    ("started < 2026-11-01T00:00", False),
    ("age < 2d and age > 12h", True),
    ("exit_code == 0", False),  # not recorded in this document: a comparison on a missing field is false
])
def test_evaluation(text: str, expected: bool) -> None:
    assert matches(text) is expected


def test_numbers_compare_numerically_and_text_as_text() -> None:
    run = make_run(params={"lr": "0.001", "size": "10"})
    assert matches("params.lr < 0.01", run)  # a string holding a number still compares as a number
    assert matches("params.size > 9", run)
    assert not matches("params.size > abc", run)  # text order: "10" < "abc"


def test_missing_metric_is_neither_above_nor_below() -> None:
    run = make_run(metrics={})
    assert not matches("metrics.acc > 0.5", run)
    assert not matches("metrics.acc <= 0.5", run)


@pytest.mark.parametrize("text, column, fragment", [
    ("", 1, "the expression is empty"),
    ("metrics.acc >", 14, "expected a value after '>'"),
    ("metrics.acc > and x", 15, "expected a value after '>', found 'and'"),
    ("metrics.acc >> 2", 14, "expected a value after '>'"),
    ("metrics.acc = 0.9", 13, "use '=='"),
    ("metrics.acc > 0.9 && x", 19, "use 'and'"),
    ("metrics.acc > 0.9 || x", 19, "use 'or'"),
    ("!status == failed", 1, "use '!=' or 'not'"),
    ("metric.acc > 0.9", 1, "did you mean 'metrics'"),
    ("statsu == failed", 1, "did you mean 'status'"),
    ("foo == 1", 1, "unknown field 'foo'"),
    ("metrics > 1", 1, "'metrics' needs a name"),
    ("status.x == 1", 7, "'status' has no sub-fields"),
    ("(status == failed", 18, "expected ')' to close the '(' at column 1"),
    ("status == failed)", 17, "unbalanced ')'"),
    ("()", 2, "empty parentheses"),
    ("status == 'failed", 11, "unterminated string"),
    ("status > failed", 8, "cannot be ordered"),
    ("tag < x", 5, "cannot be ordered"),
    ("since", 6, "expected a duration"),
    ("since yesterday", 7, "expected a duration"),
    ("status == failed metrics.acc > 1", 18, "expected 'and', 'or' or the end"),
    ("and status == failed", 1, "expected a condition before 'and'"),
    ("status == failed and", 21, "expected a condition"),
    ("status == failed or or x", 21, "expected a condition before 'or'"),
    ("name ~ '('", 8, "invalid regular expression"),
    ("metrics.acc > true", 15, "needs a number"),
    ("duration > soon", 12, "expected seconds or a duration"),
    ("started > tuesday", 11, "expected a date"),
    ("metrics.acc # 1", 13, "unexpected character '#'"),
    ("params.lr 0.1", 11, "expected an operator"),
    ("== 1", 1, "expected a field name"),
])
def test_errors_point_at_the_column(text: str, column: int, fragment: str) -> None:
    with pytest.raises(query.QueryError) as info:
        query.parse(text)
    err = info.value
    assert fragment in err.message, err.message
    assert err.column == column, str(err)
    lines = str(err).splitlines()
    assert lines[0].startswith(f"invalid expression at column {column}: ")
    assert lines[1] == f"  {text}"
    assert lines[2] == "  " + " " * (column - 1) + "^"


def test_error_is_a_usage_error_with_exit_code_2() -> None:
    with pytest.raises(query.QueryError) as info:
        query.parse("status >")
    assert info.value.exit_code == 2


def test_columns() -> None:
    assert query.parse_columns('id,name,params.lr,metrics."val/acc"') == [
        ("id", ("id",)), ("name", ("name",)), ("params.lr", ("params", "lr")),
        ('metrics."val/acc"', ("metrics", "val/acc"))]
    with pytest.raises(query.QueryError) as info:
        query.parse_columns("id,,name")
    assert info.value.column == 4
    with pytest.raises(query.QueryError) as info:
        query.parse_columns("id,nme")
    assert info.value.column == 4 and "did you mean 'name'" in info.value.message
    with pytest.raises(query.QueryError) as info:
        query.parse_columns("id name")
    assert info.value.column == 4 and "expected ','" in info.value.message
    with pytest.raises(query.QueryError):
        query.parse_columns("id,")


def test_sort_keys() -> None:
    assert query.parse_sort("metrics.acc") == (("metrics", "acc"), False)
    assert query.parse_sort("-metrics.acc") == (("metrics", "acc"), True)
    assert query.parse_sort("metrics.acc:desc") == (("metrics", "acc"), True)
    with pytest.raises(query.QueryError) as info:
        query.parse_sort("-metrcs.acc")
    assert info.value.column == 2
    values: list[list[object]] = [[0.5], [], ["abc"], [0.1]]
    assert sorted(values, key=query.sort_key) == [[0.1], [0.5], ["abc"], []]


def test_an_error_in_a_long_expression_shows_only_the_part_around_the_column() -> None:
    text = "(" * 5000 + "1" + ")" * 5000
    with pytest.raises(query.QueryError) as info:
        query.parse(text)
    err = info.value
    lines = str(err).splitlines()
    assert len(lines) == 3
    assert all(len(line) < 200 for line in lines), [len(line) for line in lines]
    shown, caret = lines[1], lines[2]
    # The caret still points at the character the column names.
    assert shown[caret.index("^")] == text[err.column - 1]
