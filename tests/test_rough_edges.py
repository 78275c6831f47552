"""Rough edges a new user hit (issue 10): defaults, terminals, helpful --where answers."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from tests.conftest import git, gitrun
from tests.run_fixtures import TRAIN, record, run_in_terminal


@pytest.fixture
def three_runs(repo: Path) -> list[str]:
    (repo / "train.py").write_text(TRAIN)
    git(repo, "commit", "-qam", "train")
    return [record(repo, "--name", name, "--tag", tag, "--", "python", "train.py", lr)
            for name, tag, lr in (("first", "baseline", "0.1"), ("second", "sweep", "0.2"),
                                  ("third", "sweep", "0.3"))]


def marker_editor(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An $EDITOR that leaves a marker file behind when started, and appends a line."""
    marker = tmp_path / "editor-started"
    script = tmp_path / "editor.sh"
    script.write_text(f'#!/bin/sh\ntouch "{marker}"\nprintf "\\nedited\\n" >> "$1"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {"EDITOR": str(script), "VISUAL": str(script)}, marker


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_journal_and_note_start_no_editor_without_a_terminal(repo: Path, three_runs: list[str], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GIT_EDITOR", raising=False)
    env, marker = marker_editor(tmp_path)
    gitrun(repo, "journal", "add", "planned: warmup")
    out = gitrun(repo, "journal", env=env).stdout  # piped, as in a script or CI: print it
    assert "planned: warmup" in out and "# Experiment journal" in out
    note = gitrun(repo, "note", "first", env=env, check=False)
    assert note.returncode == 2 and note.stdout == ""
    assert len(note.stderr.strip().splitlines()) == 1 and "-m" in note.stderr and "terminal" in note.stderr
    assert not marker.exists()
    # On a terminal the editor still opens.
    code, out = run_in_terminal(repo, ["journal"], env=env)
    assert code == 0 and "journal saved" in out and marker.exists()
    assert "edited" in gitrun(repo, "journal", "show").stdout


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_show_and_diff_without_arguments_use_the_newest_runs(repo: Path, three_runs: list[str]) -> None:
    shown = gitrun(repo, "show").stdout
    assert shown.startswith(f"run      {three_runs[2]}  (third)")
    assert json.loads(gitrun(repo, "show", "--json").stdout)["id"] == three_runs[2]
    diff = gitrun(repo, "diff", "--json").stdout
    result = json.loads(diff)
    assert (result["a"]["name"], result["b"]["name"]) == ("second", "third")
    assert "second" in gitrun(repo, "diff").stdout


def test_show_and_diff_without_runs_say_so(repo: Path) -> None:
    show = gitrun(repo, "show", check=False)
    assert show.returncode != 0 and "no runs yet" in show.stderr and "Traceback" not in show.stderr
    record(repo, "--", "true")
    diff = gitrun(repo, "diff", check=False)
    assert diff.returncode == 2 and "one run" in diff.stderr


def test_where_on_a_field_no_run_has_says_so(repo: Path, three_runs: list[str]) -> None:
    out = gitrun(repo, "list", "--where", "metrics.los < 1").stdout
    assert "no runs match" in out and "no run has metrics.los" in out
    report = gitrun(repo, "report", "--where", "metrics.los < 1", "-o", "r.md", check=False)
    assert report.returncode == 2 and "no run has metrics.los" in report.stderr
    # A field some run has is not reported, even when nothing matches.
    assert "no run has" not in gitrun(repo, "list", "--where", "metrics.loss > 5").stdout


def test_where_tags_contains_and_in(repo: Path, three_runs: list[str]) -> None:
    def names(where: str) -> list[str]:
        return [run["name"] for run in json.loads(gitrun(repo, "list", "--json", "--where", where).stdout)]

    assert names("tags contains sweep") == ["third", "second"]
    assert names("'baseline' in tags") == ["first"]
    assert names("sweep in tags and not 'x' in tags") == ["third", "second"]
    assert names('message contains "TRAIN"') == names("message ~ train")


def test_list_show_diff_fit_80_columns(repo: Path, three_runs: list[str]) -> None:
    long_message = "a very long message about the learning rate schedule, " * 4
    record(repo, "-m", long_message, "--", "python", "-c", "print('x' * 150); print('loss: 0.5')")
    narrow = {"COLUMNS": "80"}
    for args in (["list"], ["show"], ["diff"], ["diff", "first", "second", "--all"]):
        out = gitrun(repo, *args, env=narrow).stdout
        assert max(len(line) for line in out.splitlines()) <= 80, (args, out)
    shown = gitrun(repo, "show", env=narrow).stdout
    assert "schedule," in shown.split("message", 1)[1]  # wrapped, not lost
    wide = gitrun(repo, "show").stdout  # piped: nothing is cut
    assert "x" * 150 in wide


def test_diff_metric_table_labels_every_column(repo: Path, three_runs: list[str]) -> None:
    out = gitrun(repo, "diff", "first", "third", env={"COLUMNS": "120"}).stdout
    header = out.split("metrics:", 1)[1].splitlines()[1].split()
    assert header == ["name", "A", "B", "delta", "better", "direction"]


WRITER = """import pathlib, sys
out = pathlib.Path('runs/exp')
out.mkdir(parents=True, exist_ok=True)
(out / 'events.out.tfevents').write_bytes(b'\\x00event' * 100)
(out / 'ckpt.pt').write_bytes(b'weights' * 50)
print('loss: 0.5')
"""


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_outputs_of_earlier_runs_stay_out_of_the_next_snapshot(repo: Path) -> None:
    (repo / "write.py").write_text(WRITER)
    git(repo, "add", "write.py")
    git(repo, "commit", "-qm", "writer")
    first = record(repo, "--name", "one", "--", "python", "write.py")
    second_run = gitrun(repo, "--name", "two", "--", "python", "write.py")
    second = json.loads(gitrun(repo, "show", "two", "--json").stdout)
    excluded = {item["path"]: item["reason"] for item in second["snapshot"]["excluded"]}
    assert excluded == {"runs/exp/ckpt.pt": "output of an earlier run (one)",
                        "runs/exp/events.out.tfevents": "output of an earlier run (one)"}
    assert "add this line to .gitignore: /runs/" in second_run.stderr
    assert "runs/exp" not in git(repo, "ls-tree", "-r", "--name-only", second["commit"])
    diff = json.loads(gitrun(repo, "diff", "one", "two", "--json").stdout)
    assert diff["code"]["same"], diff["code"]
    third_run = gitrun(repo, "--name", "three", "--", "python", "write.py")
    assert ".gitignore" not in third_run.stderr  # suggested once
    assert gitrun(repo, "check", "two", "three").returncode == 0  # an output left out is no code problem
    # A file the user changed at an output's path is code again: it goes into the snapshot.
    (repo / "runs" / "exp" / "ckpt.pt").write_bytes(b"edited by hand")
    fourth = record(repo, "--name", "four", "--", "true")
    commit = json.loads(gitrun(repo, "show", fourth, "--json").stdout)["commit"]
    tree = git(repo, "ls-tree", "-r", "--name-only", commit)
    assert "runs/exp/ckpt.pt" in tree and "runs/exp/events.out.tfevents" not in tree
    assert first


SWEEP = """import argparse
import gitrun
parser = argparse.ArgumentParser()
parser.add_argument('--lr', type=float, default=0.1)
parser.add_argument('--batch', type=int, default=32)
args = parser.parse_args()
for step in range(3):
    gitrun.log(loss=1.0 / (1 + step * args.lr), step=step)
gitrun.log(acc=0.9 - args.lr)
"""


def test_report_folds_equal_parameters_says_what_it_cut_and_skips_one_point_charts(repo: Path) -> None:
    (repo / "sweep.py").write_text(SWEEP)
    git(repo, "add", "sweep.py")
    git(repo, "commit", "-qm", "sweep")
    for lr in ("0.1", "0.2", "0.3"):
        record(repo, "--", sys.executable, "sweep.py", "--lr", lr)
    target = repo.parent / "report.md"
    out = gitrun(repo, "report", "--limit", "2", "-o", str(target)).stdout
    assert "1 chart" in out  # loss; acc has one point per run
    text = target.read_text()
    assert "newest 2 of 3 runs" in text
    params = text.split("## Parameters", 1)[1]
    assert "| lr |" in params and "| batch |" not in params
    assert "Same in all 2 runs: batch = 32" in params
    assert "### acc" not in text and "### loss" in text
    html = repo.parent / "report.html"
    gitrun(repo, "report", "--limit", "2", "-o", str(html))
    page = html.read_text()
    assert 'data-metric="acc"' not in page and 'data-metric="loss"' in page
    assert "Same in all 2 runs: 1 parameter(s)" in page
