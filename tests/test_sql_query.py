"""``git run query``: read-only SQL over the documented tables (docs/format.md, "Query tables")."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.test_index import cli, listing, runs_repo, template_repo  # noqa: F401 - fixtures


def test_runs_have_one_column_per_parameter_and_metric(capsys: pytest.CaptureFixture[str],
                                                        runs_repo: Path) -> None:  # noqa: F811
    runs = listing(capsys, runs_repo)
    code, out, err = cli(capsys, runs_repo, "query", "--json",
                         "SELECT id, name, params_lr, metrics_acc FROM runs WHERE metrics_acc > 0.5 "
                         "ORDER BY metrics_acc DESC, id")
    assert code == 0, err
    rows = json.loads(out)
    expected = sorted((run for run in runs if run["metrics"]["acc"] > 0.5),
                      key=lambda run: (-run["metrics"]["acc"], run["id"]))
    assert [row["id"] for row in rows] == [run["id"] for run in expected]
    assert [row["params_lr"] for row in rows] == [run["params"]["lr"] for run in expected]


def test_tags_summaries_and_datasets_tables(capsys: pytest.CaptureFixture[str], runs_repo: Path) -> None:  # noqa: F811
    runs = listing(capsys, runs_repo)
    code, out, _ = cli(capsys, runs_repo, "query", "--csv", "SELECT tag, count(*) AS n FROM tags GROUP BY tag")
    assert code == 0
    counted = {row["tag"]: int(row["n"]) for row in csv.DictReader(io.StringIO(out))}
    expected: dict[str, int] = {}
    for run in runs:
        for tag in run["tags"]:
            expected[tag] = expected.get(tag, 0) + 1
    assert counted == expected
    code, out, _ = cli(capsys, runs_repo, "query", "--json",
                       f"SELECT min, max, last, count FROM summaries WHERE run_id = '{runs[0]['id']}' "
                       "AND metric = 'loss'")
    assert json.loads(out) == [{key: runs[0]["summary"]["loss"][key] for key in ("min", "max", "last", "count")}]
    code, out, _ = cli(capsys, runs_repo, "query", "--json", "SELECT run_id, version, hash FROM datasets")
    with_data = {run["id"]: run["data"][0] for run in runs if run.get("data")}
    assert {row["run_id"]: (row["version"], row["hash"]) for row in json.loads(out)} == {
        run_id: (item["version"], item["hash"]) for run_id, item in with_data.items()}
    code, out, _ = cli(capsys, runs_repo, "query", "SELECT version FROM query_schema")
    assert code == 0 and "1" in out


@pytest.mark.parametrize("sql", [
    "DELETE FROM run_index",
    "UPDATE runs SET name = 'x'",
    "DROP TABLE run_index",
    "ATTACH DATABASE 'elsewhere.db' AS other",
    "PRAGMA query_only = 0",
    "CREATE TABLE evil (x)",
    "SELECT 1; DELETE FROM run_index",
])
def test_anything_but_reading_is_refused(capsys: pytest.CaptureFixture[str], runs_repo: Path,  # noqa: F811
                                         sql: str) -> None:
    before = listing(capsys, runs_repo)
    code, _out, err = cli(capsys, runs_repo, "query", sql)
    assert code == 2
    assert err.startswith("git-run: error:") and err[-1] == "\n" and err.count("\n") == 1
    assert listing(capsys, runs_repo) == before
    assert not (runs_repo / "elsewhere.db").exists()


def test_a_bad_query_says_what_is_wrong(capsys: pytest.CaptureFixture[str], runs_repo: Path) -> None:  # noqa: F811
    code, _out, err = cli(capsys, runs_repo, "query", "SELECT nope FROM runs")
    assert code == 2 and "no such column: nope" in err
