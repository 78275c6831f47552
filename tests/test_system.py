"""System monitoring: the child's process tree sampled into system/ series."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gitrun.runner.sampler import Sampler
from tests.conftest import gitrun

PY = sys.executable
BUSY = "import time\nend = time.time() + 1.5\nx = bytearray(30_000_000)\nwhile time.time() < end:\n    pass\n"


def last_run(repo: Path) -> dict[str, Any]:
    run_id = json.loads(gitrun(repo, "list", "--json").stdout)[0]["id"]
    return dict(json.loads(gitrun(repo, "show", run_id, "--json").stdout))


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_process_tree_is_sampled(repo: Path) -> None:
    (repo / "busy.py").write_text(BUSY)
    # A shell starting Python: the sampler follows the whole tree.
    result = gitrun(repo, "-q", "--sample-interval", "0.25", "--", "sh", "-c", f"{PY} busy.py")
    assert "nvml" not in result.stderr.lower() and result.stderr == ""  # no GPU here: no warnings
    run = last_run(repo)
    summary = run["summary"]
    assert summary["system/cpu_percent"]["count"] >= 3
    assert summary["system/cpu_percent"]["max"] > 5  # a busy loop shows as CPU use, even on a loaded machine
    assert summary["system/rss_bytes"]["max"] > 30_000_000  # the bytearray is in the tree's memory
    assert summary["system/threads"]["max"] >= 1
    assert summary["system/memory_used_bytes"]["count"] >= 3
    assert "system/read_bytes" in summary and "system/write_bytes" in summary
    assert run["system"]["interval_s"] == 0.25
    assert run["system"]["samples"] >= 5  # start, every 0.25 s, end
    assert "system/cpu_percent" not in run.get("metrics", {})  # last values are for the user's metrics
    names = {p["name"] for p in json.loads(gitrun(repo, "metrics", run["id"], "system/*", "--json").stdout)}
    assert {"system/cpu_percent", "system/rss_bytes"} <= names


def test_monitoring_can_be_turned_off(repo: Path) -> None:
    (repo / ".gitrun.toml").write_text("sample_interval = 0\n")
    gitrun(repo, "-q", "--", "true")
    run = last_run(repo)
    assert not any(name.startswith("system/") for name in run.get("summary", {}))
    assert "system" not in run


def test_sampler_cost_is_small(tmp_path: Path) -> None:
    child = subprocess.Popen([PY, "-c", "import time; time.sleep(30)"])
    try:
        sampler = Sampler(child.pid, tmp_path / "metrics.jsonl", interval=0.1)
        started = time.monotonic()
        sampler.start()
        deadline = time.monotonic() + 30
        while sampler.step < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        sampler.stop()
        wall = time.monotonic() - started
    finally:
        child.kill()
        child.wait()
    assert sampler.step >= 10
    # Even sampling 10 times a second costs well under a tenth of a core (default: every 5 s).
    assert sampler.cpu_seconds / wall < 0.1
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert all(json.loads(line)["name"].startswith("system/") for line in lines)
