"""TensorBoard scalars become gitrun metrics with no code change: the event-file reader (both the
hand-written decoder and the ``tensorboard`` package), naming, damaged files, and a real run."""

from __future__ import annotations

import json
import struct
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gitrun.capture import tensorboard as tb
from gitrun.capture.tensorboard import Scalar, read_scalars, scalar_series
from tests.conftest import gitrun

PY = sys.executable


# --- a minimal event-file writer (the format, written by hand, as the writers do) -----------------

def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number: int, wire: int, payload: bytes | int) -> bytes:
    key = varint(number << 3 | wire)
    if wire == 0:
        assert isinstance(payload, int)
        return key + varint(payload)
    assert isinstance(payload, bytes)
    return key + (varint(len(payload)) + payload if wire == 2 else payload)


def simple_value(tag: str, value: float) -> bytes:
    return field(1, 2, tag.encode()) + field(2, 5, struct.pack("<f", value))


def tensor_value(tag: str, tensor: bytes, metadata: bool) -> bytes:
    meta = field(9, 2, field(1, 2, field(1, 2, b"scalars"))) if metadata else b""
    return field(1, 2, tag.encode()) + meta + field(8, 2, tensor)


def event(step: int, values: list[bytes], wall_time: float = 1.7e9) -> bytes:
    summary = b"".join(field(1, 2, value) for value in values)
    return field(1, 1, struct.pack("<d", wall_time)) + field(2, 0, step) + field(5, 2, summary)


def record(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return (length + struct.pack("<I", tb._masked_crc(length)) + data
            + struct.pack("<I", tb._masked_crc(data)))


def write_events(path: Path, events: list[bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    version = field(1, 1, struct.pack("<d", 1.7e9)) + field(3, 2, b"brain.Event:2")
    path.write_bytes(record(version) + b"".join(record(item) for item in events))
    return path


def test_masked_crc_matches_the_tfrecord_reference() -> None:
    # CRC-32C check value of "123456789" is 0xE3069283 (RFC 3720, appendix B.4).
    assert tb._crc32c(b"123456789") == 0xE3069283


def test_simple_values_and_tensor_scalars(tmp_path: Path) -> None:
    float_tensor = field(1, 0, 1) + field(5, 2, struct.pack("<f", 0.25))  # DT_FLOAT, float_val
    double_content = field(1, 0, 2) + field(4, 2, struct.pack("<d", 0.125))  # DT_DOUBLE, tensor_content
    vector = field(1, 0, 1) + field(2, 2, field(2, 2, field(1, 0, 3))) + field(5, 2, struct.pack("<3f", 1, 2, 3))
    path = write_events(tmp_path / "events.out.tfevents.1.host", [
        event(0, [simple_value("Loss/train", 0.1), simple_value("Loss/test", 0.2)]),
        event(1, [tensor_value("acc", float_tensor, metadata=True), tensor_value("lr", double_content, True)]),
        event(2, [tensor_value("acc", float_tensor, metadata=False)]),  # metadata only comes the first time
        event(3, [tensor_value("hist", vector, metadata=True)]),  # not a scalar
        event(4, [tensor_value("unknown", float_tensor, metadata=False)]),  # no scalar metadata ever
        event(-1 & ((1 << 64) - 1), [simple_value("neg", float("nan"))]),
    ])
    expected = [Scalar("Loss/train", 0, 1.7e9, 0.1), Scalar("Loss/test", 0, 1.7e9, 0.2),
                Scalar("acc", 1, 1.7e9, 0.25), Scalar("lr", 1, 1.7e9, 0.125), Scalar("acc", 2, 1.7e9, 0.25)]
    got = read_scalars(path, use_package=False)
    assert got[:5] == expected  # float32 0.1 comes back as 0.1, not 0.10000000149
    assert got[5].tag == "neg" and got[5].step == -1 and got[5].value != got[5].value  # NaN kept
    assert len(got) == 6


def test_torn_and_damaged_files_keep_what_came_before(tmp_path: Path) -> None:
    good = [event(step, [simple_value("loss", 1.0 / (step + 1))]) for step in range(3)]
    path = write_events(tmp_path / "events.out.tfevents.2.host", good)
    data = path.read_bytes()
    path.write_bytes(data[:-7])  # killed while writing the last record
    assert [s.step for s in read_scalars(path, use_package=False)] == [0, 1]
    broken = bytearray(data)
    broken[len(data) // 2] ^= 0xFF  # a flipped byte somewhere
    path.write_bytes(bytes(broken))
    read_scalars(path, use_package=False)  # never raises
    path.write_bytes(b"\xff" * 100)
    assert read_scalars(path, use_package=False) == []


def test_series_names_follow_tensorboard_runs(tmp_path: Path) -> None:
    one = write_events(tmp_path / "runs/exp/events.out.tfevents.1.h", [event(0, [simple_value("Loss/train", 1)])])
    assert scalar_series([one], use_package=False)[0] == {"tb/Loss/train": [(0, 1.7e9, 1.0)]}
    # add_scalars writes one folder per series: runs/exp/Loss_train, runs/exp/Loss_test
    a = write_events(tmp_path / "runs/exp/Loss_train/events.out.tfevents.1.h", [event(0, [simple_value("Loss", 2)])])
    b = write_events(tmp_path / "runs/exp/Loss_test/events.out.tfevents.1.h", [event(0, [simple_value("Loss", 3)])])
    series, truncated = scalar_series([one, a, b], use_package=False)
    assert sorted(series) == ["tb/Loss/train", "tb/Loss_test/Loss", "tb/Loss_train/Loss"] and not truncated
    series, truncated = scalar_series([one, a, b], use_package=False, max_points=2)
    assert sum(len(points) for points in series.values()) == 2 and truncated


def test_a_run_writing_event_files_gets_tb_metrics(repo: Path, tmp_path: Path) -> None:
    """No tensorboard package needed: the event file is an output, read when the run is stored."""
    source = tmp_path / "events.out.tfevents.9.host"
    write_events(source, [event(step, [simple_value("Loss/train", 1.0 / (step + 1)),
                                       simple_value("Loss/test", 2.0 / (step + 1))]) for step in range(4)])
    (repo / "train.py").write_text(textwrap.dedent(f"""\
        import os, shutil
        os.makedirs("runs/exp", exist_ok=True)
        shutil.copy({str(source)!r}, "runs/exp/")
        for step in range(4):
            print(f"step {{step}} | loss {{1.0 / (step + 1):.4f}}")
    """))
    gitrun(repo, "-q", "--", PY, "train.py")
    run_id = json.loads(gitrun(repo, "list", "--json").stdout)[0]["id"]
    shown = json.loads(gitrun(repo, "show", run_id, "--json").stdout)
    assert shown["metrics"] == {"loss": 0.25, "tb/Loss/train": 0.25, "tb/Loss/test": 0.5}
    assert shown["tensorboard"]["files"] == ["runs/exp/events.out.tfevents.9.host"]
    points = json.loads(gitrun(repo, "metrics", run_id, "tb/Loss/test", "--json").stdout)
    assert [(p["step"], p["value"]) for p in points] == [(0, 2.0), (1, 1.0), (2, 0.6666667), (3, 0.5)]


# --- the "done when" test: a real training script ------------------------------------------------

TRAIN = '''\
"""Linear regression by gradient descent, the way a training script prints and logs it."""
import argparse, json, sys, time
import numpy as np
from tensorboardX import SummaryWriter

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.05)
parser.add_argument("--steps", type=int, default=25)
parser.add_argument("--truth", required=True)  # where the test learns what was printed and written
args = parser.parse_args()

rng = np.random.default_rng(0)
X = rng.normal(size=(256, 8))
y = X @ rng.normal(size=8) + 0.1 * rng.normal(size=256)
train_x, train_y, test_x, test_y = X[:200], y[:200], X[200:], y[200:]
w = np.zeros(8)
print(f"number of parameters: {w.size}")
print(f"dataset: {len(X)} examples")
print(f"vocab size: 27")
print(f"train/test split: 200/56")

truth = {"printed": {}, "written": {}}
def remember(kind, name, step, value):
    truth[kind].setdefault(name, []).append([step, value])

writer = SummaryWriter("runs/linear")
for step in range(args.steps):
    start = time.perf_counter()
    w -= args.lr * 2 * train_x.T @ (train_x @ w - train_y) / len(train_x)
    train_loss = float(np.mean((train_x @ w - train_y) ** 2))
    test_loss = float(np.mean((test_x @ w - test_y) ** 2))
    elapsed_ms = (time.perf_counter() - start) * 1000
    writer.add_scalar("Loss/train", train_loss, step)
    writer.add_scalar("Loss/test", test_loss, step)
    remember("written", "Loss/train", step, train_loss)
    remember("written", "Loss/test", step, test_loss)
    if step % 5 == 0 or step == args.steps - 1:
        line = f"iter {step}: loss {train_loss:.4f}, time {elapsed_ms:.3f}ms, mfu 0.1%"
        print(line, flush=True)
        remember("printed", "loss", step, float(f"{train_loss:.4f}"))
        remember("printed", "time_ms", step, float(f"{elapsed_ms:.3f}"))
        remember("printed", "mfu", step, 0.1)
    if step % 10 == 0:
        print(f"step {step}: train loss {train_loss:.4f}, val loss {test_loss:.4f}", flush=True)
        remember("printed", "train/loss", step, float(f"{train_loss:.4f}"))
        remember("printed", "val/loss", step, float(f"{test_loss:.4f}"))
writer.close()
json.dump(truth, open(args.truth, "w"))
'''


def _float32(value: float) -> float:
    return tb._from_float32(struct.unpack("<f", struct.pack("<f", value))[0])


@pytest.mark.slow
@pytest.mark.parametrize("reader", ["gitrun", "tensorboard"])
def test_real_training_script_metrics_are_exact(repo: Path, tmp_path: Path, reader: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("numpy")
    pytest.importorskip("tensorboardX")
    if reader == "tensorboard":
        pytest.importorskip("tensorboard")
    (repo / "train.py").write_text(TRAIN)
    truth_path = tmp_path / "truth.json"
    env = {"GITRUN_TB_READER": reader}
    result = gitrun(repo, "-q", "--", PY, "train.py", "--truth", str(truth_path), env=env)
    assert "iter 0: loss" in result.stdout
    truth: dict[str, dict[str, list[list[Any]]]] = json.loads(truth_path.read_text())
    run_id = json.loads(gitrun(repo, "list", "--json").stdout)[0]["id"]
    shown = json.loads(gitrun(repo, "show", run_id, "--json").stdout)

    printed = truth["printed"]
    written = {f"tb/{tag}": [[step, _float32(value)] for step, value in points]
               for tag, points in truth["written"].items()}
    expected = {**printed, **written}
    assert set(shown["metrics"]) == set(expected)  # exactly these names: no setup number among them
    for name, points in expected.items():
        series = json.loads(gitrun(repo, "metrics", run_id, name, "--json").stdout)
        assert [[p["step"], p["value"]] for p in series] == points, name
        assert shown["metrics"][name] == points[-1][1]
    assert shown["console"]["facts"] == {"number_of_parameters": 8, "dataset": 256, "vocab_size": 27}
    assert shown["tensorboard"]["reader"] == reader
    assert shown["tensorboard"]["files"][0].startswith("runs/linear/events.out.tfevents.")
