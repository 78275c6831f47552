"""``git run list``: columns, --where, --sort, --limit, reachability from HEAD, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import gitrun
from tests.run_fixtures import shared_project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return shared_project(tmp_path_factory)


def names(out: str) -> list[str]:
    return [line.split()[1] for line in out.splitlines() if line.startswith("01")]


def test_default_table_says_which_runs_it_shows(project: dict[str, str]) -> None:
    out = gitrun(Path(project["repo"]), "list").stdout
    header = out.splitlines()[0].split()
    assert header == ["id", "name", "status", "age", "duration", "branch", "message"]
    assert names(out) == ["run-c", "run-b", "run-a"]  # newest first; run-d is on another branch
    assert "runs on commits reachable from HEAD (1 hidden; --all-branches shows them)" in out
    assert "[broken]" in out  # tags are shown with the message
    everything = gitrun(Path(project["repo"]), "list", "--all-branches").stdout
    assert names(everything) == ["run-d", "run-c", "run-b", "run-a"]
    assert "runs of all branches" in everything


def test_columns_by_name(project: dict[str, str]) -> None:
    out = gitrun(Path(project["repo"]), "list", "--columns", "name,params.lr,metrics.acc,params.optim.name").stdout
    lines = out.splitlines()
    assert lines[0].split() == ["name", "params.lr", "metrics.acc", "params.optim.name"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:] if line.startswith("run-")}
    assert rows["run-a"] == ["0.1", "0.8", "adam"]
    assert rows["run-b"] == ["0.01", "0.9", "adam"]
    assert rows["run-c"][0] == "-"


@pytest.mark.parametrize("where, expected", [
    ("metrics.acc > 0.85", ["run-b"]),
    ("metrics.acc > 0.7 and params.lr < 0.05", ["run-b"]),
    ("status == failed", ["run-c"]),
    ("tag == imagenet:v1", ["run-a"]),
    ("since 3d", ["run-c", "run-b", "run-a"]),
    ("message ~ lr and before 3d", []),
])
def test_where(project: dict[str, str], where: str, expected: list[str]) -> None:
    out = gitrun(Path(project["repo"]), "list", "--where", where).stdout
    assert names(out) == expected
    if not expected:
        assert out.startswith("no runs match")


def test_where_across_branches(project: dict[str, str]) -> None:
    out = gitrun(Path(project["repo"]), "list", "--all-branches", "--where", "branch == feature").stdout
    assert names(out) == ["run-d"]


def test_sort_and_limit(project: dict[str, str]) -> None:
    repo = Path(project["repo"])
    assert names(gitrun(repo, "list", "--sort", "metrics.acc").stdout) == ["run-a", "run-b", "run-c"]
    assert names(gitrun(repo, "list", "--sort=-metrics.acc").stdout) == ["run-b", "run-a", "run-c"]
    assert names(gitrun(repo, "list", "--sort", "metrics.acc:desc", "--limit", "1").stdout) == ["run-b"]
    out = gitrun(repo, "list", "--limit", "2").stdout
    assert "showing 2 of 3" in out


def test_a_filtered_default_table_says_what_it_left_out(project: dict[str, str]) -> None:
    """--where/--sort on the default table read the index's rows: the footer still counts hidden and cut runs."""
    repo = Path(project["repo"])
    out = gitrun(repo, "list", "--sort", "-metrics.acc", "--limit", "1").stdout
    assert names(out) == ["run-b"]
    assert "runs on commits reachable from HEAD (1 hidden; --all-branches shows them); showing 1 of 3" in out
    typo = gitrun(repo, "list", "--where", "metrics.accuracy > 0.5")
    assert typo.stdout.startswith("no runs match --where metrics.accuracy > 0.5 (runs on commits reachable")
    assert typo.stdout.rstrip().endswith(": no run has metrics.accuracy")  # a typo, not an empty result


def test_json_and_csv_for_scripts(project: dict[str, str]) -> None:
    repo = Path(project["repo"])
    runs = json.loads(gitrun(repo, "list", "--json", "--where", "metrics.acc > 0").stdout)
    assert [run["name"] for run in runs] == ["run-b", "run-a"]
    assert runs[0]["metrics"]["acc"] == 0.9 and runs[0]["params"]["lr"] == 0.01
    text = gitrun(repo, "list", "--csv", "--columns", "id,name,status,params.lr,metrics.loss").stdout
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["id", "name", "status", "params.lr", "metrics.loss"]
    by_name = {row[1]: row for row in rows[1:]}
    assert by_name["run-a"][0] == project["a"]  # full ids in CSV
    assert by_name["run-a"][3:] == ["0.1", "0.5"]
    assert by_name["run-c"][2] == "failed" and by_name["run-c"][3] == ""


@pytest.mark.parametrize("args, column, fragment", [
    (["--where", "metrics.acc >"], 14, "expected a value after '>'"),
    (["--where", "status == failed and metric.acc > 1"], 22, "did you mean 'metrics'"),
    (["--columns", "id,nmae"], 4, "did you mean 'name'"),
    (["--sort", "-metrcs.acc"], 2, "did you mean 'metrics'"),
])
def test_invalid_expressions_point_at_the_column(project: dict[str, str], args: list[str], column: int,
                                                 fragment: str) -> None:
    proc = gitrun(Path(project["repo"]), "list", *args, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert f"at column {column}: " in lines[0] and fragment in lines[0]
    assert lines[2].index("^") == 2 + column - 1
    assert "Traceback" not in proc.stderr


def test_baseline_is_marked(project: dict[str, str]) -> None:
    repo = Path(project["repo"])
    gitrun(repo, "baseline", "run-a")
    try:
        out = gitrun(repo, "list").stdout
        line = next(line for line in out.splitlines() if "run-a" in line)
        assert "run-a (baseline)" in line
        assert names(gitrun(repo, "list", "--where", "baseline == main").stdout) == ["run-a"]
    finally:
        gitrun(repo, "baseline", "--clear")


def test_with_metrics_recorded_from_console_output(repo: Path) -> None:
    """Runs whose metrics come from the recorder itself (printed ``acc: 0.7`` lines), not test setup."""
    (repo / "train.py").write_text("import sys\nfor step in range(3):\n"
                                   "    print(f'acc: {float(sys.argv[1]) * (step + 1) / 3:.3f}')\n")
    gitrun(repo, "--name", "low", "--", "python", "train.py", "0.6")
    gitrun(repo, "--name", "high", "--", "python", "train.py", "0.9")
    out = gitrun(repo, "list", "--where", "metrics.acc > 0.8", "--columns", "name,metrics.acc").stdout
    assert names_of(out) == ["high"]
    result = json.loads(gitrun(repo, "diff", "low", "high", "--json").stdout)
    acc = next(entry for entry in result["metrics"] if entry["key"] == "acc")
    assert (acc["a"], acc["b"], acc["better"]) == (0.6, 0.9, "b")
    report = repo.parent / "real.html"
    gitrun(repo, "report", "low", "high", "-o", str(report))
    assert report.read_text().count('<polyline class="series"') == 2


def names_of(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines()[2:] if line and not line.startswith("runs ")]


def test_the_default_headers_are_those_of_the_default_columns() -> None:
    """The default table names its columns without parsing them (the query language stays unimported)."""
    from gitrun.commands.list_runs import DEFAULT_COLUMNS, DEFAULT_HEADERS
    from gitrun.model.query import parse_columns

    assert [header for header, _ in parse_columns(DEFAULT_COLUMNS)] == DEFAULT_HEADERS


@pytest.mark.parametrize("items", [
    [],
    [{"id": "01a", "name": "só", "params": {"lr": 0.1, "layers": [1, 2, {"deep": None}]}, "tags": []}],
    [{"id": "01a", "metrics": {}}, {"id": "01b", "text": "line\nbreak \"quoted\""}, {"id": "01c", "n": 1e300}],
])
def test_streamed_json_is_what_dumping_the_whole_list_prints(capsys: pytest.CaptureFixture[str],
                                                            items: list[dict[str, object]]) -> None:
    """``list --json`` writes one run at a time (memory stays flat): byte for byte the one-shot dump."""
    from gitrun.commands.output import print_json, write_json_array

    write_json_array(iter(items))
    streamed = capsys.readouterr().out
    print_json(items)
    assert streamed == capsys.readouterr().out


def test_list_json_is_the_same_whole_list_however_it_is_written(project: dict[str, str]) -> None:
    out = gitrun(Path(project["repo"]), "list", "--json", "--all-branches").stdout
    runs = json.loads(out)
    assert [run["name"] for run in runs] == ["run-d", "run-c", "run-b", "run-a"]
    assert out == json.dumps(runs, indent=2, ensure_ascii=False) + "\n"
