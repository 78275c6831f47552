"""Metrics from console output, metric files and the API; series, summaries, crash recovery."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from gitrun.capture.console_metrics import ConsoleConfig, config_from_settings, parse_line
from gitrun.model.series import name_from_path, series_path
from tests.conftest import git, gitrun

PY = sys.executable


def run_ids(repo: Path) -> list[str]:
    return [run["id"] for run in json.loads(gitrun(repo, "list", "--json").stdout)]


def show(repo: Path, run_id: str | None = None) -> dict[str, Any]:
    return dict(json.loads(gitrun(repo, "show", run_id or run_ids(repo)[0], "--json").stdout))


def series(repo: Path, *names: str) -> list[dict[str, Any]]:
    return list(json.loads(gitrun(repo, "metrics", run_ids(repo)[0], *names, "--json").stdout))


def write(repo: Path, name: str, text: str) -> Path:
    path = repo / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(("line", "points"), [
    ("loss: 0.25", [("loss", 0.25, None)]),
    ("epoch 3 acc=0.91 loss=0.2", [("acc", 0.91, 3), ("loss", 0.2, 3)]),
    ("step 10 | loss 2.93 | lr 3e-4", [("loss", 2.93, 10), ("lr", 3e-4, 10)]),
    ('{"loss": 0.2, "step": 10}', [("loss", 0.2, 10)]),
    ('{"val": {"acc": 0.5}, "epoch": 2, "tag": "x"}', [("val/acc", 0.5, 2)]),
    ("Epoch 2/10 - loss: 0.3 - acc: 91.5%", [("loss", 0.3, 2), ("acc", 91.5, 2)]),
    ("\x1b[32mtrain/loss=0.1\x1b[0m", [("train/loss", 0.1, None)]),
    (" 10%|███ | 10/100 [00:01<00:09, 9.5it/s, loss=0.3]", [("loss", 0.3, None)]),
    ("2026-01-01 12:00:01 INFO step=5, loss=1e-3", [("loss", 1e-3, 5)]),
    ("Downloading 3 files", []),
    ("version 1.2.3 released", []),
    ("took 3.5s", []),
])
def test_console_lines(line: str, points: list[tuple[str, float, int | None]]) -> None:
    assert [(p.name, p.value, p.step) for p in parse_line(line)] == points


def test_configured_patterns() -> None:
    config = config_from_settings({"patterns": [r"it (?P<step>\d+): (?P<name>\w+) is (?P<value>[\d.]+)"],
                                   "ignore": ["^DEBUG"]})
    assert [(p.name, p.value, p.step) for p in parse_line("it 7: loss is 0.5", config)] == [("loss", 0.5, 7)]
    assert parse_line("DEBUG loss=1", config) == []
    assert parse_line("loss=1", ConsoleConfig(enabled=False)) == []
    with pytest.raises(ValueError, match="not a regular expression"):
        config_from_settings({"patterns": ["(unclosed"]})


def test_series_paths_escape_names() -> None:
    assert series_path("system/cpu_percent") == "metrics/system/cpu_percent.tsv"
    assert series_path("val acc@1") == "metrics/val%20acc%401.tsv"
    for name in ("val acc@1", "a/b/c", "..", "ü/x"):
        assert name_from_path(series_path(name)) == name


def test_shell_command_printing_metrics(repo: Path) -> None:
    write(repo, "train.sh", """\
        echo "loading data"
        echo "loss: 0.9"
        echo "epoch 1 acc=0.5 loss=0.7"
        echo "epoch 2 acc=0.75 loss=0.4"
        echo "step 30 | loss 0.35 | lr 3e-4"
        echo "grad_norm: 1.5" >&2
        printf '{"loss": 0.3, "step": 40}\\n'
        printf 'val_acc: 0.8'
    """)
    result = gitrun(repo, "-q", "--", "sh", "train.sh")
    assert "loading data" in result.stdout  # output passes through unchanged
    run = show(repo)
    # grad_norm and val_acc follow a counted line: the newest counter applies to them
    assert run["metrics"] == {"loss": 0.3, "acc": 0.75, "lr": 3e-4, "val_acc": 0.8, "grad_norm": 1.5}
    assert run["summary"]["loss"] == {"last": 0.3, "min": 0.3, "max": 0.9, "count": 5, "last_step": 40}
    loss = [(p["step"], p["value"]) for p in series(repo, "loss")]
    assert loss == [(0, 0.9), (1, 0.7), (2, 0.4), (30, 0.35), (40, 0.3)]
    rows = list(csv.DictReader(io.StringIO(gitrun(repo, "metrics", run["id"], "acc", "--csv").stdout)))
    assert [(r["name"], r["step"], r["value"]) for r in rows] == [("acc", "1", "0.5"), ("acc", "2", "0.75")]
    assert all(float(r["time"]) > 1e9 for r in rows)
    tree = git(repo, "ls-tree", "-r", "--name-only", f"refs/experiments/{run['id']}")
    assert "metrics/loss.tsv" in tree.split()
    assert git(repo, "show", f"refs/experiments/{run['id']}:metrics/acc.tsv").splitlines()[0] == "step\ttime\tvalue"


def test_console_metrics_can_be_switched_off(repo: Path) -> None:
    gitrun(repo, "-q", "--no-console-metrics", "--", "echo", "loss: 0.5")
    assert "metrics" not in show(repo)
    (repo / ".gitrun.toml").write_text("[console_metrics]\nenabled = false\n")
    gitrun(repo, "-q", "--", "echo", "loss: 0.5")
    assert "metrics" not in show(repo)
    (repo / ".gitrun.toml").write_text('[console_metrics]\npatterns = ["score (?P<score>[0-9.]+)"]\n')
    gitrun(repo, "-q", "--", "echo", "final score 97.5")
    assert show(repo)["metrics"] == {"score": 97.5}


def test_metric_files(repo: Path) -> None:
    write(repo, "make_metrics.py", """\
        import json
        json.dump({"test": {"acc": 0.93}, "loss": [0.5, 0.4]}, open("metrics.json", "w"))
        with open("history.csv", "w") as f:
            f.write("epoch,train_loss,note\\n1,0.8,a\\n2,0.6,b\\n")
        open("final.yaml", "w").write("f1: 0.77\\n")
    """)
    gitrun(repo, "-q", "--no-console-metrics", "--metrics", "metrics.json", "--metrics", "history.csv",
           "--metrics", "final.yaml", "--", PY, "make_metrics.py")
    run = show(repo)
    assert run["metrics"] == {"test/acc": 0.93, "loss": 0.4, "train_loss": 0.6, "f1": 0.77}
    assert [(p["step"], p["value"]) for p in series(repo, "train_loss")] == [(1, 0.8), (2, 0.6)]
    assert [(p["step"], p["value"]) for p in series(repo, "loss")] == [(0, 0.5), (1, 0.4)]


def test_unknown_metric_name_is_a_clear_error(repo: Path) -> None:
    gitrun(repo, "-q", "--", "echo", "step 1 | loss: 0.5")
    result = gitrun(repo, "metrics", run_ids(repo)[0], "nope", check=False)
    assert result.returncode == 2
    assert "no metric 'nope'" in result.stderr and "loss" in result.stderr
    assert "Traceback" not in result.stderr


LONG_RUN = """\
    import time, gitrun
    for i in range(5):
        gitrun.log(step=i, loss=1.0 / (i + 1))
    gitrun.log_params({"lr": 0.01})
    print("epoch 1 acc: 0.5", flush=True)  # a counted line: acc is a series, not a console fact
    open("started", "w").close()
    time.sleep(60)
"""


def _wait_for(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_live_points_visible_and_kept_after_kill_9(repo: Path) -> None:
    write(repo, "long.py", LONG_RUN)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([PY, "-m", "gitrun", "-q", "--sample-interval", "0.2", "--", PY, "long.py"],
                            cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: (repo / "started").exists())
        run_id = _wait_for(lambda: run_ids(repo) and run_ids(repo)[0])

        def live_metrics() -> dict[str, Any] | None:
            run = show(repo, run_id)
            metrics = run.get("metrics", {})
            return run if metrics.get("loss") == 0.2 and "acc" in metrics else None

        started = time.monotonic()
        live = _wait_for(live_metrics, timeout=5)
        assert time.monotonic() - started < 5
        assert live["status"] == "running"
        assert live["params"]["lr"] == 0.01
        assert live["summary"]["loss"]["count"] == 5
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    run = show(repo, run_id)  # the next command finalises the orphaned run
    assert run["status"] == "crashed"
    assert run["metrics"]["loss"] == 0.2 and run["metrics"]["acc"] == 0.5
    assert run["summary"]["loss"] == {"last": 0.2, "min": 0.2, "max": 1.0, "count": 5, "last_step": 4}
    assert run["params"]["lr"] == 0.01
    assert [p["step"] for p in series(repo, "loss")] == [0, 1, 2, 3, 4]
    assert series(repo, "system/rss_bytes")  # the sampler's points are kept too
