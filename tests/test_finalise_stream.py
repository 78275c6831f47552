"""Finalising by streaming: the same series as building them in memory, in bounded memory; a crashed
run's end is its last sign of life; a spool that was not stored completely is never deleted."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitrun.model.series import CONSOLE_SOURCE, build_series, series_tsv, summarise, without_console_duplicates
from gitrun.model.timefmt import from_iso
from gitrun.runner.series_stream import SeriesBuilder
from gitrun.store.jsonl import read_record_chunks, read_records


def reference(points: list[dict[str, Any]]) -> dict[str, tuple[bytes, dict[str, Any]]]:
    """The in-memory algorithm streaming replaces: console points of API metrics dropped, then built."""
    kept = build_series(without_console_duplicates(points))
    return {name: (series_tsv(series), summarise(series)) for name, series in kept.items()}


def random_points(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    names = ["loss", "acc", "train/loss", "system/cpu_percent", "lr", "", "a//b", 7]
    sources = [None, None, CONSOLE_SOURCE, CONSOLE_SOURCE, "file"]
    values: list[Any] = [0.5, 3, float("nan"), float("inf"), -2.25, True, "x", None, 1e300]
    points = []
    for _ in range(count):
        point: dict[str, Any] = {"name": rng.choice(names), "value": rng.choice(values) if rng.random() < 0.3
                                 else rng.uniform(-10, 10), "time": rng.choice([1.5, 2, None, 1700000000.123])}
        if rng.random() < 0.7:
            point["step"] = rng.choice([rng.randrange(100), None, 2.5])
        source = rng.choice(sources)
        if source is not None:
            point["src"] = source
        points.append(point)
    return points


def chunks(points: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(points), size):
        yield points[start:start + size]


@pytest.mark.parametrize("seed", range(12))
def test_streamed_series_equal_the_in_memory_ones(seed: int, tmp_path: Path) -> None:
    points = random_points(seed, 400)
    expected = reference(points)
    streamed = SeriesBuilder(tmp_path / "series", flush_points=7)  # flushes (and forks) mid-stream
    in_memory = SeriesBuilder(None)
    for chunk in chunks(points, 13):
        streamed.add(chunk)
        in_memory.add(chunk)
    files = streamed.finish()
    lists = in_memory.finish()
    assert set(files) == set(lists) == set(expected)
    for name, (tsv, summary) in expected.items():
        assert files[name].path is not None and files[name].path.read_bytes() == tsv, name
        assert series_tsv(lists[name].points or []) == tsv, name
        assert json.dumps(files[name].summary) == json.dumps(summary) == json.dumps(lists[name].summary)


def test_an_api_metric_drops_console_points_logged_before_and_after(tmp_path: Path) -> None:
    points = [{"name": "loss", "value": 9.0, "src": CONSOLE_SOURCE},
              {"name": "loss", "value": 1.0},
              {"name": "loss", "value": 8.0, "src": CONSOLE_SOURCE},
              {"name": "loss", "value": 0.5},
              {"name": "acc", "value": 0.7, "src": CONSOLE_SOURCE}]
    built = SeriesBuilder(tmp_path)
    built.add(points)
    result = built.finish()
    assert result["loss"].summary == {"last": 0.5, "count": 2, "last_step": 1, "min": 0.5, "max": 1.0}
    assert result["acc"].summary["count"] == 1


def test_spooled_records_are_read_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    lines = [json.dumps({"name": "m", "value": index}) for index in range(1000)]
    lines.insert(500, "{not json")
    path.write_text("\n".join(lines) + '\n{"name": "torn", "va')  # a writer killed mid-line
    chunks_read = list(read_record_chunks(path, chunk_bytes=256))
    assert len(chunks_read) > 50  # never the whole file at once
    values = [record["value"] for chunk in chunks_read for record in chunk]
    assert values == list(range(1000))  # the damaged line and the torn last line are skipped


# Blocks of spool lines taken as columns (model.point_columns) give what JSON gives, line for line.

def api_lines(points: list[tuple[str, int | None, float, float]]) -> str:
    """The lines gitrun.log writes (its real encoder: compact JSON, %.3f times, repr values)."""
    from gitrun.api import _Buffer

    encoder = _Buffer.__new__(_Buffer)
    encoder._names = {}
    return encoder._encode(points)


ODD_LINES = [
    '{"name":"loss","time":1700000000.500,"step":4,"value":0.5}',  # another key order
    '{"name":"lo\\"ss","step":1,"time":1.000,"value":2.0}',  # an escape in the name
    '{"name":"loss","step":-3,"time":1.000,"value":2.0}',  # a negative step
    '{"name":"loss","step":2.5,"time":1.000,"value":2.0}',  # a fractional step
    '{"name":"loss","step":1,"time":1.000,"value":-NaN}',  # not JSON
    '{"name":"loss","step":1,"time":1.000,"value":"2"}',  # a string value
    '{"name":"loss","step":1,"time":null,"value":2.0}',  # no time
    '{"name":"a//b","step":1,"time":1.000,"value":2.0}',  # not a metric name
    '{"name":"loss","step":1,"time":1.000,"value":true}',
    '{"name":"loss","step":1,"time":1.000,"value":2.0,"src":"console"}',
    '{"name":"loss","step":1,"time":1.000,"value":1_0}',
    '{"name":"loss","step":1,"time":1.000,"value":2.0} ',
    '{not json',
    '',
]


def random_spool(seed: int, count: int) -> str:
    """Lines as the spool holds them: mostly gitrun.log's, some sampled (json.dumps), console points,
    and odd or damaged lines; names logged at every step, or some only now and then."""
    rng = random.Random(seed)
    names = ["loss", "acc", "train/loss", "système/é", "lr"]
    out: list[str] = []
    step = 0
    while len(out) < count:
        kind = rng.random()
        if kind < 0.85:
            logged = names[:3] if rng.random() < 0.8 else rng.sample(names, rng.randint(1, 5))
            values = [rng.choice([rng.uniform(-5, 5), 1 / (step + 3), float("nan"), float("inf"), -0.0, 1e-7, 3e20])
                      for _ in logged]
            when = rng.choice([1700000000.0 + step * 0.05, 12.5])
            out.append(api_lines([(name, rng.choice([step, step, None]), when, value)
                                  for name, value in zip(logged, values, strict=True)]))
            step += 1
        elif kind < 0.95:
            out.append(json.dumps({"name": "system/cpu_percent", "step": step, "time": rng.choice([1700000000.25, 3]),
                                   "value": rng.choice([12, 12.5, 0])}) + "\n")
        elif kind < 0.975:
            out.append(json.dumps({"name": rng.choice(["loss", "val"]), "step": step, "time": 5.0,
                                   "value": rng.uniform(0, 1), "src": CONSOLE_SOURCE}) + "\n")
        else:
            out.append(rng.choice(ODD_LINES) + "\n")
    return "".join(out)


def assert_built_as_json_gives(built: dict[str, Any], expected: dict[str, tuple[bytes, dict[str, Any]]]) -> None:
    assert list(built) == list(expected)  # the same series, first logged first
    for name, (tsv, summary) in expected.items():
        assert built[name].path is not None and built[name].path.read_bytes() == tsv, name
        assert json.dumps(built[name].summary) == json.dumps(summary), name


@pytest.mark.parametrize("seed", range(10))
def test_blocks_taken_as_columns_give_what_json_gives(seed: int, tmp_path: Path) -> None:
    from gitrun.store.jsonl import read_line_blocks

    path = tmp_path / "metrics.jsonl"
    path.write_text(random_spool(seed, 600) + '{"name":"loss","st')  # and a torn last line
    expected = reference([record for chunk in read_record_chunks(path) for record in chunk])
    builder = SeriesBuilder(tmp_path / "series", flush_bytes=300)
    taken = 0
    for block in read_line_blocks(path, chunk_bytes=random.Random(seed).choice([64, 700, 2000])):
        taken += builder.add_block(block) is None
    built = builder.finish()
    assert taken > 0  # some blocks went the column way
    assert_built_as_json_gives(built, expected)


def test_plain_lines_are_columns_and_any_other_line_declines_the_block() -> None:
    from gitrun.model.point_columns import plain_columns

    plain = api_lines([("loss", 0, 1700000000.0, 0.5), ("acc", 0, 1700000000.0, float("nan")),
                       ("loss", None, 1700000000.25, 2.0)]).rstrip("\n")
    sampled = json.dumps({"name": "system/gpu", "step": 3, "time": 1700000000.125, "value": 7})
    found = plain_columns(f"{plain}\n{sampled}".encode())
    assert found is not None and list(found) == ["loss", "acc", "system/gpu"]
    assert found["loss"].steps == [b"0", None] and list(found["loss"].values) == [0.5, 2.0]
    assert list(found["acc"].texts) == [b"nan"] and list(found["system/gpu"].texts) == [b"7.0"]  # as repr prints
    assert list(found["system/gpu"].times) == [b"1700000000.125"]
    for odd in ODD_LINES:
        assert plain_columns(f"{plain}\n{odd}".encode()) is None, odd


# Blocks of a dict of metrics logged at every step (model.point_columns.periodic_series): each metric's
# TSV text made from the block's text, byte for byte what JSON gives; any other block is declined.

def periodic_spool(seed: int, steps: int, sampled: bool, evaluated: bool = False) -> str:
    """gitrun.log(step=..., **metrics) at every step: the same names, in the same order, each step;
    ``sampled``: with the system sampler's lines now and then; ``evaluated``: and other metrics
    logged every few steps (``gitrun.log(step=..., val_loss=...)``)."""
    rng = random.Random(seed)
    names = rng.sample(["loss", "acc", "train/loss", "système/é", "lr", "x" * 200], rng.randint(1, 6))
    first = rng.choice([0, 7, 10**12])
    start, interval = rng.choice([1700000000.0, 1000.5]), rng.choice([0.05, 1])
    out = []
    for step in range(first, first + steps):
        values = [rng.choice([rng.uniform(-5, 5), 1 / (step + 3), -0.0, 1e-7, 3e20, 2.0, -1e300])
                  for _ in names]
        lines = api_lines([(name, step, start + (step - first) * interval, value)
                           for name, value in zip(names, values, strict=True)]).splitlines(keepends=True)
        if sampled and rng.random() < 0.1:  # the sampler appends between two writes, even inside a step's
            sample = [{"name": f"system/{name}", "step": step, "time": 1700000000.25, "value": rng.choice([3, 2.5])}
                      for name in ("cpu_percent", "rss_bytes")]
            lines.insert(rng.randrange(len(lines) + 1), "".join(json.dumps(point) + "\n" for point in sample))
        if evaluated and step % 40 == 3:
            lines.append(api_lines([("val/loss", step, start + (step - first) * interval, 1 / (step + 2))]))
        out.extend(lines)
    return "".join(out)


@pytest.mark.parametrize("seed", range(12))
def test_periodic_blocks_taken_as_text_give_what_json_gives(seed: int, tmp_path: Path) -> None:
    from gitrun.model.point_columns import periodic_series, spaced_runs
    from gitrun.store.jsonl import read_line_blocks

    path = tmp_path / "metrics.jsonl"
    sampled, evaluated = seed % 2 == 1, seed % 4 >= 2
    path.write_text(periodic_spool(seed, 400, sampled, evaluated) + '{"name":"loss","st')  # and a torn last line
    expected = reference([record for chunk in read_record_chunks(path) for record in chunk])
    builder = SeriesBuilder(tmp_path / "series", flush_bytes=random.Random(seed).choice([300, 1 << 20]))
    taken = taken_beside_samples = taken_beside_others = 0
    for block in read_line_blocks(path, chunk_bytes=random.Random(seed).choice([500, 3000, 1 << 20])):
        as_text = sum(periodic_series(run) is not None for run in spaced_runs(block))
        taken += as_text
        taken_beside_samples += as_text if b'{"name": ' in block else 0
        taken_beside_others += as_text if b'"val/loss"' in block else 0
        assert builder.add_block(block) is None  # as text, or else as columns: never parsed as JSON
    built = builder.finish()
    assert taken > 0 and (taken_beside_samples > 0 or not sampled) and (taken_beside_others > 0 or not evaluated)
    assert_built_as_json_gives(built, expected)


def test_a_block_is_cut_around_the_samplers_lines_only_where_they_start_a_line() -> None:
    from gitrun.model.point_columns import spaced_runs

    logged = api_lines([("loss", step, 1.0 + step, 0.5) for step in range(3)]).splitlines()
    sampled = [json.dumps({"name": "system/cpu_percent", "step": step, "time": 1.5, "value": 3}) for step in range(2)]
    block = "\n".join([*sampled, *logged, sampled[0], *logged, *sampled]).encode()
    runs = spaced_runs(block)
    assert [run.startswith(b'{"name": ') for run in runs] == [True, False, True, False, True]
    assert b"\n".join(runs) == block and [run.count(b"\n") for run in runs] == [1, 2, 0, 2, 1]
    assert spaced_runs(b"\n".join(map(str.encode, logged))) == [b"\n".join(map(str.encode, logged))]
    inside = '{"name":"loss","step":1,"time":1.000,"value":2.0,"note":{"name": 1}}'  # not where a line starts
    assert spaced_runs(f"{logged[0]}\n{inside}".encode()) == [f"{logged[0]}\n{inside}".encode()]


TEXT_ODD_LINES = [  # in the place of a "loss" line of a block of times 1.000, 2.000, ...
    '{"name":"loss","step":1,"value":2.0,"time":1.000}',  # time and value swapped
    '{"name":"loss","step":,"time":1.000,"value":2.0}',  # no step
    '{"name":"loss","step":1,"time":1.5,"value":2.0}',  # a time %.3f writes otherwise
    '{"name":"loss","step":1,"time":1.000,"value":}',  # no value
    '{"name":"loss","step":1,"time":1.000,"value":2.0}{"name":"acc","step":1,"time":1.000,"value":2.0}',
    '{"name":"loss","step":1,"ti',  # torn, and the next line appended after it
    '{"name":"loss","step":null,"time":1.000,"value":2.0}',
    '{"name":"loss","step":1,"time":1.000,"value":NaN}',
    '{"name":"loss","step":1,"time":1.000,"value":1.5.5}',
    '{"name":"loss","step":1,"time":1.000,"value":2.0,"time":3.000}',
    json.dumps({"name": "loss", "step": 1, "time": 1.0, "value": 2.0}),  # the sampler's spacing
    '{"name":"loss","step":1,"time":1.000,"value":2.0}\n',
]


def test_a_periodic_block_with_any_other_line_is_not_taken_as_text(tmp_path: Path) -> None:
    from gitrun.model.point_columns import periodic_series

    lines = api_lines([(name, step, 1.0 + step, 0.5 + step) for step in range(6)
                       for name in ("loss", "acc")]).splitlines()
    assert periodic_series("\n".join(lines).encode()) is not None
    for index, odd in enumerate(ODD_LINES + TEXT_ODD_LINES):
        block = "\n".join([*lines[:4], odd, *lines[5:]])
        assert periodic_series(block.encode()) is None, odd
        path = tmp_path / f"{index}.jsonl"
        path.write_text(block + "\n")
        builder = SeriesBuilder(tmp_path / f"series-{index}")
        builder.add_block(block.encode())
        assert_built_as_json_gives(builder.finish(), reference(list(read_records(path))))


# A crashed run, made in this process: started by the recorder, then its gitrun "dies".

def crashed_run(repo: Path, monkeypatch: pytest.MonkeyPatch, points: int = 0) -> tuple[Any, Any, Path]:
    from gitrun.commands.context import open_context
    from gitrun.runner.options import RecordOptions
    from gitrun.runner.recorder import start_recording

    monkeypatch.chdir(repo)
    ctx = open_context(repo)
    active = start_recording(ctx.store, ctx.settings, ctx.cwd, RecordOptions(command=["python", "train.py"],
                                                                            quiet=True))
    active.stop()
    spool = active.spool
    if points:
        write_console_points(spool.path / "metrics.jsonl", points)
    (spool.path / "output.log").write_bytes(b"loss: 0.5\n")
    spool.write_live({**spool.read_live(), "pid": exited_pid()})  # its gitrun is gone
    return ctx, active.run, spool.path


def exited_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def write_console_points(path: Path, count: int) -> None:
    """``count`` console points of 10 metrics, as the console parser spools them."""
    with open(path, "w", encoding="utf-8") as handle:
        for step in range(count // 10):
            step_lines = [json.dumps({"name": f"metric_{index}", "step": step, "time": 1700000000.0 + step,
                                      "value": 1.0 / (step + index + 1), "src": CONSOLE_SOURCE})
                          for index in range(10)]
            handle.write("\n".join(step_lines) + "\n")


def test_a_crashed_run_ends_at_its_last_sign_of_life(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitrun.commands.context import recording_features
    from gitrun.runner.finalise import recover_orphans

    ctx, run, spool_path = crashed_run(repo, monkeypatch, points=20)
    started = from_iso(run.doc["started"]).timestamp()
    last_seen = started + 0.125
    for name in os.listdir(spool_path):
        os.utime(spool_path / name, (last_seen, last_seen))
    assert len(recover_orphans(ctx.store, ctx.settings, recording_features)) == 1
    doc = ctx.store.get(run.id).doc
    assert doc["status"] == "crashed"
    assert abs(from_iso(doc["ended"]).timestamp() - last_seen) < 0.002  # not the time it was recovered
    assert doc["duration_s"] == pytest.approx(0.125, abs=0.002)
    assert doc["summary"]["metric_3"]["count"] == 2


def test_a_failing_contributor_keeps_the_spool_and_says_why(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from gitrun.commands.context import recording_features
    from gitrun.runner import features
    from gitrun.runner.finalise import recover_orphans

    def out_of_memory(spool: object, ending: object) -> tuple[dict[str, Any], dict[str, Any]]:
        raise MemoryError()  # says nothing by itself

    ctx, run, spool_path = crashed_run(repo, monkeypatch, points=20)
    monkeypatch.setattr(features, "CONTRIBUTORS", (*features.CONTRIBUTORS, out_of_memory))
    recover_orphans(ctx.store, ctx.settings, recording_features)
    doc = ctx.store.get(run.id).doc
    assert doc["status"] == "crashed"
    assert doc["missing"]["out_of_memory"] == "MemoryError"  # a reason, never empty
    kept = ctx.paths.gitrun_dir / "kept" / run.id
    assert (kept / "metrics.jsonl").is_file() and str(kept) in doc["missing"]["spool"]
    assert not spool_path.exists() and list((ctx.paths.gitrun_dir / "live").iterdir()) == []
    assert "kept at" in capsys.readouterr().err
    recover_orphans(ctx.store, ctx.settings, recording_features)  # a later command never deletes it
    assert (kept / "metrics.jsonl").is_file()


# The Python heap's peak (tracemalloc), not the RSS: the RSS also counts file pages mapped while the spool
# and the packs are read, which ranged from 55 to 583 MiB with what else the machine ran, whereas the old
# in-memory build held its 650 MiB as Python objects.
RECOVER = """
import tracemalloc
tracemalloc.start()
from gitrun.commands.context import open_context
open_context()  # finalises the orphan
print(tracemalloc.get_traced_memory()[1] // 2**20)
"""


@pytest.mark.slow
def test_recovering_a_run_with_a_million_console_points_stays_small(repo: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ctx, run, _ = crashed_run(repo, monkeypatch, points=1_000_000)
    peak_mib = int(subprocess.run([sys.executable, "-c", RECOVER], cwd=repo, capture_output=True, text=True,
                                  check=True).stdout)
    doc = ctx.store.get(run.id).doc
    assert doc["status"] == "crashed" and doc["summary"]["metric_9"]["count"] == 100_000
    assert peak_mib < 100, f"recovering a run of a million points held {peak_mib} MiB of Python objects"
