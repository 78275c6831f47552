"""Result-tree reads for display: downsampling keeps spikes, logs from the tail, code diffs, --once."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from gitrun.model.downsample import minmax_buckets, smooth
from gitrun.store.results import parse_series_columns
from gitrun.tui.plain import clean, render_once
from gitrun.tui.source import RunSource
from tests.conftest import gitrun


def test_minmax_keeps_a_single_spike_and_bounds_the_points() -> None:
    values = [1.0] * 100_000
    values[73_337] = 500.0
    values[10] = -3.0
    values[20] = math.nan
    series = minmax_buckets(list(range(100_000)), values, 100, "loss")
    assert len(series.xs) <= 200
    assert 500.0 in series.ys and -3.0 in series.ys
    assert series.xs[series.ys.index(500.0)] == 73_337  # at its own step
    assert series.xs == sorted(series.xs)
    assert series.count == 100_000 and series.downsampled
    assert (series.low, series.high) == (-3.0, 500.0)


def test_small_series_are_kept_whole_without_nan() -> None:
    series = minmax_buckets([0, 1, 2], [0.5, math.nan, 0.25], 100)
    assert series.xs == [0, 2] and series.ys == [0.5, 0.25] and series.count == 3
    assert not series.downsampled or len(series.xs) < series.count


def test_smoothing_is_debiased() -> None:
    assert smooth([2.0, 2.0, 2.0], 0.9) == [2.0, 2.0, 2.0]  # a constant stays constant from the first point
    assert smooth([1.0, 3.0], 0.0) == [1.0, 3.0]


def test_parse_series_columns_skips_header_and_damaged_lines() -> None:
    data = b"step\ttime\tvalue\n0\t10.5\t1.5\nbroken\n2\t11.0\tnan\n3\t12\t2\n"
    xs, ys = parse_series_columns(data)
    assert xs == [0.0, 2.0, 3.0] and ys[0] == 1.5 and math.isnan(ys[1])
    xs, _ = parse_series_columns(data, 1)
    assert xs == [10.5, 11.0, 12.0]


def test_log_tail_and_code_diff(project: dict[str, Any]) -> None:
    source = RunSource(project["repo"])
    run = source.store.get(project["b"])
    log = source.results.log(run)
    assert "loss" in log.text and not log.live and log.shown_from == 0
    tail = source.results.log(run, tail_bytes=20)
    assert tail.shown_from > 0 and len(tail.text) <= 20 and tail.size == log.size
    diff = source.results.code_diff(run)
    assert {path for _, path, _, _ in diff.files} == {"train.py", "model.py"}
    assert diff.patch.startswith("diff --git")
    other = source.store.get(project["a"])
    assert {path for _, path, _, _ in source.results.snapshot_diff(other, run).files} == {"train.py", "model.py"}
    assert source.results.series_names(run, include_system=False) == ["acc", "loss"]


def test_ui_once_prints_the_table(project: dict[str, Any]) -> None:
    proc = gitrun(Path(project["repo"]), "ui", "--once")
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["status", "name", "/"]
    assert [line.split()[2] for line in lines[2:5]] == ["run-c", "run-b", "run-a"]
    assert "run-d" not in proc.stdout
    assert "run-d" in gitrun(Path(project["repo"]), "ui", "--once", "--all-branches").stdout
    filtered = render_once(RunSource(project["repo"]), where="metrics.acc > 0.85")
    assert "run-b" in filtered and "run-a" not in filtered


def test_clean_removes_terminal_control() -> None:
    assert clean("evil\x1b]0;title\x07name\nnext") == "evil\\x1b]0;title\\x07name\\nnext"


def test_minmax_fast_path_keeps_spikes_in_finite_series() -> None:
    values = [float(step % 7) for step in range(50_000)]
    values[12_345] = 1e6
    values[40_000] = -1e6
    series = minmax_buckets(list(range(50_000)), values, 80)
    assert len(series.xs) <= 160 and 1e6 in series.ys and -1e6 in series.ys
    assert series.xs[series.ys.index(1e6)] == 12_345 and series.xs == sorted(series.xs)
