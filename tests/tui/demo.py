"""A small repository of runs with fixed ids, names, times and values, written through the store API:
the snapshot tests and the README screenshot show the same screen on every machine."""

from __future__ import annotations

import math
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gitrun.model.series import series_path, series_tsv, summarise
from gitrun.model.timefmt import to_iso
from gitrun.store.git import open_repository
from gitrun.store.runs import RunStore

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
RUNS = [  # id, name, status, minutes ago, duration s, lr, batch, message, tags, branch
    ("01kb2m7c9r4q8x3v1d6f0h2j5k", "brisk-heron-42", "succeeded", 300, 1520.0, 0.1, 32, "baseline lr", ["baseline"],
     "main"),
    ("01kb2qk3n8w5y7t2p4s6a9c1e3", "calm-otter-17", "succeeded", 240, 1490.5, 0.03, 32, "smaller lr", [], "main"),
    ("01kb2v1b4m6x8z0r3t5w7y9q2h", "eager-lynx-08", "failed", 180, 62.0, 1.0, 64, "lr 1.0 diverges?", ["broken"],
     "main"),
    ("01kb2z8d2f4h6k8m0p2r4t6v8x", "quiet-finch-33", "succeeded", 120, 1610.2, 0.01, 64, "bigger batch",
     ["candidate"], "main"),
    ("01kb33e7y9a1c3e5g7j9m1p3r5", "swift-crane-51", "running", 15, None, 0.01, 128, "batch 128", [], "main"),
    ("01kb31q4s6u8w0y2a4c6e8g0j2", "bold-tern-90", "succeeded", 60, 800.0, 0.05, 32, "feature work", [],
     "feature"),
]
STEPS = 400


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def curve(lr: float, steps: int, failed: bool) -> dict[str, list[float]]:
    loss = [0.1 + 2.4 * math.exp(-step * lr * 0.8) + 0.03 * math.sin(step / 7) for step in range(steps)]
    if failed:
        loss = [value * (1 + step / 10) for step, value in enumerate(loss)]
    acc = [max(0.0, min(1.0, 1 - value / 2.6)) for value in loss]
    return {"loss": loss, "acc": acc, "system/cpu_percent": [90 + 5 * math.sin(s / 3) for s in range(steps // 10)]}


def build_demo(root: Path) -> dict[str, Any]:
    repo = root / "demo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text("import sys\nlr = float(sys.argv[1])\nprint('loss', 1 / lr)\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "initial")
    git(repo, "switch", "-q", "-c", "feature")
    (repo / "feature.txt").write_text("feature\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "feature work")
    git(repo, "switch", "-q", "main")
    repository, paths = open_repository(repo)
    store = RunStore(repository, paths)
    head = repository.revparse_single("main").id
    feature = repository.revparse_single("feature").id
    base_tree = repository.get(head).tree_id
    for run_id, name, status, ago, duration, lr, batch, message, tags, branch in RUNS:
        started = NOW - timedelta(minutes=ago)
        steps = STEPS if status != "failed" else 40
        series = curve(lr, steps, status == "failed")
        doc: dict[str, Any] = {
            "schema": 1, "id": run_id, "name": name, "message": message, "tags": tags, "status": status,
            "command": ["python", "train.py", "--lr", str(lr), "--batch", str(batch)], "cwd": ".",
            "started": to_iso(started), "user": "ada", "host": "gpu-box-3",
            "git": {"base_commit": str(head if branch == "main" else feature), "branch": branch, "dirty": False},
            "params": {"lr": lr, "batch": batch, "optimizer": "adam"},
            "params_source": {"lr": "argv", "batch": "argv", "optimizer": "file:params.yaml"},
            "metrics": {name: values[-1] for name, values in series.items() if not name.startswith("system/")},
            "summary": {name: summarise([(i, 0.0, v) for i, v in enumerate(values)])
                        for name, values in series.items()},
            "env": {"python": {"version": "3.11.7", "executable": "/venv/bin/python"},
                    "packages": [{"name": "numpy", "version": "1.26.4" if batch < 128 else "2.0.0",
                                  "installer": "pip"}, {"name": "torch", "version": "2.3.0", "installer": "pip"}],
                    "vars": {"PATH": "/usr/bin", "CUDA_VISIBLE_DEVICES": "0"}},
        }
        if status != "running":
            doc.update(ended=to_iso(started + timedelta(seconds=duration or 0)), duration_s=duration,
                       exit_code=0 if status == "succeeded" else 1)
        if name == "quiet-finch-33":
            doc["expect"] = {"expression": "metrics.acc > 0.9", "met": True, "detail": "metrics.acc = 0.98"}
        if name == "eager-lynx-08":
            doc["expect"] = {"expression": "metrics.acc > 0.9", "met": False, "detail": "metrics.acc = 0"}
        run = store.create(run_id, base_tree, head if branch == "main" else feature, message, doc)
        files: dict[str, Any] = {series_path(key): series_tsv(
            [(step, started.timestamp() + step, value) for step, value in enumerate(values)])
            for key, values in series.items()}
        files["logs/output.log"] = "".join(f"step {step} loss {value:.4f}\n"
                                           for step, value in enumerate(series["loss"])).encode()
        store.save_result(run, files)
    return {"repo": str(repo), "ids": [item[0] for item in RUNS], "now": NOW}
