"""The console parser on real tools' output (tests/console_corpus.py), its properties, its speed
guard (it never slows the child: skipped output is counted), and NaN as a value."""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitrun.capture.console_metrics import ConsoleConfig, ConsoleParser, parse_line
from gitrun.model.console import console_facts
from gitrun.runner import tracking
from gitrun.runner.tracking import ConsoleMetrics, tracking_updates
from gitrun.store.spool import Spool
from tests.conftest import gitrun
from tests.console_corpus import CORPUS, Sample

PY = sys.executable


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def consume(tmp_path: Path, text: str, chunk_sizes: list[int] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Feed ``text`` to the real output consumer in chunks, as the child's pipe delivers it; return
    (series as {name: [(step, value)]}, the note updates)."""
    spool = Spool(tmp_path / f"spool-{random.random()}")
    spool.path.mkdir()
    consumer = ConsoleMetrics(spool, ConsoleConfig())
    data = text.encode()
    position = 0
    sizes = iter(chunk_sizes or [len(data) or 1])
    while position < len(data):
        size = next(sizes, 4096)
        consumer("stdout", data[position:position + size])
        position += size
    consumer.flush()
    series, updates = tracking_updates(spool)
    return {name: [(step, value) for step, _, value in points] for name, points in series.items()}, updates


def check_sample(sample: Sample, series: dict[str, Any], updates: dict[str, Any]) -> None:
    expected = {name: [(step, float(value)) for step, value in points] for name, points in sample.metrics.items()}
    assert sorted(series) == sorted(expected), sample.tool
    for name, points in expected.items():
        got = series[name]
        assert len(got) == len(points) and all(
            s1 == s2 and _same(v1, v2) for (s1, v1), (s2, v2) in zip(got, points, strict=True)), (name, got)
    facts = updates.get("console", {}).get("facts", {})
    assert {name: float(value) for name, value in sample.facts.items()}.items() <= facts.items(), facts
    for name in sample.not_metrics:
        assert name not in series, f"{sample.tool}: '{name}' must not be a metric"
    assert set(updates.get("metrics", {})) == set(expected)


def test_corpus_covers_thirty_formats() -> None:
    assert len(CORPUS) >= 30
    assert len({sample.tool for sample in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("sample", CORPUS, ids=[sample.tool for sample in CORPUS])
def test_corpus(sample: Sample, tmp_path: Path) -> None:
    series, updates = consume(tmp_path, sample.text)
    check_sample(sample, series, updates)


def test_corpus_in_odd_chunks_with_carriage_returns(tmp_path: Path) -> None:
    """A pipe splits output anywhere, tqdm ends lines with \\r: the result is the same."""
    rng = random.Random(7)
    for sample in CORPUS:
        text = sample.text.replace("\n", "\r\n") if rng.random() < 0.5 else sample.text
        sizes = [rng.randint(1, 40) for _ in range(len(text))]
        series, updates = consume(tmp_path, text, sizes)
        check_sample(sample, series, updates)


def test_setup_numbers_are_console_facts_never_metrics(tmp_path: Path) -> None:
    series, updates = consume(tmp_path, "number of parameters: 729\nvocab size: 27\ndataset: 32033 examples\n"
                                        "vocab size: 27\nstep 1 | loss 3.1\nstep 2 | loss 2.9\n")
    assert series == {"loss": [(1, 3.1), (2, 2.9)]}
    assert updates["console"]["facts"] == {"number_of_parameters": 729, "vocab_size": 27, "dataset": 32033}
    assert updates["metrics"] == {"loss": 2.9}


def test_run_level_rule() -> None:
    """A series: printed on a counted line, or with two different values; else a fact."""
    points = [{"name": "acc", "value": 0.5}, {"name": "acc", "value": 0.6},  # varies: series
              {"name": "size", "value": 27}, {"name": "size", "value": 27},  # repeated unchanged: fact
              {"name": "lr", "value": 0.1, "counted": True},  # on a counted line: series
              {"name": "seen", "value": math.nan}]
    assert console_facts([{**point, "src": "console"} for point in points]).keys() == {"size", "seen"}
    assert console_facts(points) == {}  # only console points can be facts


def test_custom_patterns_are_always_metrics(tmp_path: Path) -> None:
    parser = ConsoleParser(ConsoleConfig(patterns=[__import__("re").compile(r"final score (?P<score>[0-9.]+)")]))
    assert [(p.name, p.value, p.counted) for p in parser.parse_line("final score 97.5")] == [("score", 97.5, True)]


@pytest.mark.parametrize(("line", "expected"), [
    ("loss: nan", [("loss", "nan")]),
    ("loss=NaN acc=0.1", [("loss", "nan"), ("acc", "0.1")]),
    ("step 3 | loss inf", [("loss", "inf")]),
    ("{\"loss\": NaN, \"step\": 4}", [("loss", "nan")]),
    ("grad_norm: -inf", [("grad_norm", "-inf")]),
    ("loss: info", []),
    ("nanoGPT: infinite patience", []),
])
def test_nan_and_inf_are_values(line: str, expected: list[tuple[str, str]]) -> None:
    assert [(p.name, repr(p.value)) for p in parse_line(line)] == expected


def test_diverged_run_shows_nan_and_misses_its_expectation(repo: Path) -> None:
    (repo / "train.py").write_text("for s, v in [(1, '2.5'), (2, '0.3'), (3, 'nan')]:\n"
                                   "    print(f'step {s} | loss {v}')\n")
    proc = gitrun(repo, "--expect", "metrics.loss < 0.5", "--", PY, "train.py")
    run_id = json.loads(gitrun(repo, "list", "--json").stdout)[0]["id"]
    shown = json.loads(gitrun(repo, "show", run_id, "--json").stdout)
    assert math.isnan(shown["metrics"]["loss"]) and shown["summary"]["loss"]["min"] == 0.3
    assert shown["expect"]["met"] is False and "nan" in shown["expect"]["detail"]
    assert "nan" in gitrun(repo, "show", run_id).stdout
    assert proc.returncode == 0  # the child's exit code: the expectation is reported, not enforced


# --- properties ---------------------------------------------------------------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
_METRIC_LIKE = st.lists(st.sampled_from(["loss", "acc", "step", "epoch", ":", "=", " ", "|", ",", "0.5", "3", "/10",
                                         "nan", "ms", "%", "[", "]", "'", "train", "\t", "-", "e-4", "it/s"]),
                        max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_TEXT, _METRIC_LIKE), max_size=8))
def test_parser_never_raises_and_yields_only_what_the_line_holds(lines: list[str]) -> None:
    parser = ConsoleParser()
    for line in lines:
        points = parser.parse_line(line)
        if not any(char.isdigit() for char in line) and "nan" not in line.lower() and "inf" not in line.lower():
            assert points == []
        for point in points:
            assert point.name and len(point.name) <= 200
            assert isinstance(point.value, float)
            assert point.step is None or isinstance(point.step, int)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.lists(st.integers(1, 300), min_size=1, max_size=20))
def test_consumer_never_raises_on_any_bytes(data: bytes, sizes: list[int]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        spool = Spool(Path(folder))
        consumer = ConsoleMetrics(spool, ConsoleConfig())
        position = 0
        for size in sizes * (len(data) // max(1, sum(sizes)) + 1):
            if position >= len(data):
                break
            consumer("stdout", data[position:position + size])
            position += size
        consumer.flush()
        tracking_updates(spool)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["loss", "val_acc", "train/loss", "lr"]),
       st.floats(allow_nan=True, allow_infinity=True, width=64), st.integers(0, 10**9))
def test_printed_values_come_back(name: str, value: float, step: int) -> None:
    for line in (f"step {step} | {name} {value!r}", f"{name}={value!r} step={step}", f"step {step}: {name}: {value}"):
        points = parse_line(line)
        assert [(p.name, p.step) for p in points] == [(name, step)], line
        assert _same(points[0].value, float(repr(value))), line


def test_long_adversarial_lines_are_quick() -> None:
    import time

    for line in ("a" * 65000 + " 1", "a:" * 30000 + "1", "x 1 " * 15000, "'" + "a" * 60000 + "': 1", "[" * 60000 + "1"):
        start = time.perf_counter()
        parse_line(line)
        assert time.perf_counter() - start < 1.0, line[:20]


# --- never slowing the child --------------------------------------------------------------------

def test_chunks_without_values_are_passed_over(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    consumer = ConsoleMetrics(spool, ConsoleConfig())
    consumer("stdout", b"y\n" * 30000 + b"loss: ")  # a line split across chunks ...
    consumer("stdout", b"0.5 step 3\n" + b"y\n" * 100)  # ... is still read
    consumer.flush()
    series, _ = tracking_updates(spool)
    assert {name: [(s, v) for s, _, v in points] for name, points in series.items()} == {"loss": [(3, 0.5)]}


def test_a_flood_is_skipped_and_counted_not_waited_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = Spool(tmp_path)
    consumer = ConsoleMetrics(spool, ConsoleConfig())
    consumer("stdout", b"step 1 | loss 0.5\n")
    monkeypatch.setattr(tracking, "PARSE_ALLOWANCE_S", -1.0)  # the parsing budget is spent
    consumer("stdout", b"step 2 | loss 0.4\n" * 1000)
    consumer("stdout", b"step 3 | loss 0.3")
    monkeypatch.setattr(tracking, "PARSE_ALLOWANCE_S", 100.0)
    consumer("stdout", b"\nstep 4 | loss 0.2\n")
    consumer.flush()
    series, updates = tracking_updates(spool)
    assert [(s, v) for s, _, v in series["loss"]] == [(1, 0.5), (4, 0.2)]
    assert updates["console"] == {"skipped_bytes": 18 * 1000 + 17, "skipped_lines": 1000}
