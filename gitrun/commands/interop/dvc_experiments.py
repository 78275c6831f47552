"""DVC experiments (``refs/exps``) read into ``ForeignRun`` values through ``dvc exp show --json``.

Each experiment is a commit DVC made on top of its baseline: the run's snapshot has that commit's
tree and the baseline as parent, so ``git run diff`` shows what the experiment changed. Parameters
and final metrics come from DVC's own JSON; series with every step come from the DVCLive plot
files in the experiment's commit (``dvclive/plots/metrics/**.tsv``: ``step``, ``timestamp`` in ms,
and the metric's column), when the experiment used DVCLive. Every experiment of every commit is
read (``--all-commits``); the workspace row is not an experiment and is left out.
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitrun.commands.interop.extras import require
from gitrun.commands.interop.imported import ForeignRun, flatten
from gitrun.errors import UsageError
from gitrun.model.series import SeriesPoint
from gitrun.store.commits import CommitInfo, commit_info, read_folder
from gitrun.store.git import Repository

DVCLIVE_PLOTS = "dvclive/plots/metrics/"


def read_experiments(repo_dir: Path, repo: Repository) -> tuple[list[ForeignRun], list[str]]:
    require("dvc", "dvc")
    if not (repo_dir / ".dvc").is_dir():
        raise UsageError(f"{repo_dir} is not a DVC repository (no .dvc folder)", hint="run it where `dvc init` was run")
    proc = subprocess.run([sys.executable, "-m", "dvc", "exp", "show", "--json", "--all-commits"],
                          cwd=repo_dir, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise UsageError(f"`dvc exp show` failed: {last}")
    try:
        rows = json.loads(proc.stdout or "[]")
    except ValueError:
        raise UsageError("`dvc exp show --json` printed something that is not JSON") from None
    runs: list[ForeignRun] = []
    notes: list[str] = []
    for baseline, branch, entry in _experiments(rows):
        data = entry.get("data") or {}
        name = str(entry.get("name") or entry.get("rev", ""))
        if entry.get("error") or not data or not entry.get("rev"):
            notes.append(f"dvc experiment {name} left out ({_error(entry)})")
            continue
        runs.append(_foreign(repo, repo_dir, baseline, entry, data, branch))
    return runs, notes


def _experiments(rows: Any) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """(baseline commit, its branch, experiment entry) for every experiment under every baseline commit."""
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or row.get("rev") == "workspace":
            continue
        for group in row.get("experiments") or []:
            for entry in (group or {}).get("revs") or []:
                if isinstance(entry, dict):
                    name = row.get("name")
                    yield str(row.get("rev")), name if isinstance(name, str) and name else None, entry


def _error(entry: dict[str, Any]) -> str:
    error = entry.get("error")
    if isinstance(error, dict):
        return str(error.get("msg") or error.get("type") or "failed")
    return str(error or "no data: queued or still running")


def _file_values(section: Any) -> dict[str, Any]:
    """``{"params.yaml": {"data": {...}}}`` -> flat values; a key already seen keeps its first file's value."""
    values: dict[str, Any] = {}
    for content in (section or {}).values():
        data = content.get("data") if isinstance(content, dict) else None
        if isinstance(data, dict):
            for key, value in flatten(data).items():
                values.setdefault(key, value)
    return values


def _foreign(repo: Repository, repo_dir: Path, baseline: str, entry: dict[str, Any],
             data: dict[str, Any], branch: str | None) -> ForeignRun:
    rev = str(entry["rev"])
    commit = commit_info(repo, rev)
    when = datetime.fromtimestamp(commit.time, UTC) if commit is not None else None
    series = _dvclive_series(repo, commit) if commit is not None else {}
    for name, value in _file_values(data.get("metrics")).items():
        number = _number(value)
        if number is not None and name not in series and name.replace(".", "/") not in series:
            series[name.replace(".", "/")] = [(0, when.timestamp() if when else 0.0, number)]
    return ForeignRun(
        tool="dvc", foreign_id=rev, source=str(repo_dir), name=str(entry.get("name") or ""),
        started=when, ended=when, params=_file_values(data.get("params")), series=series,
        commit=rev, base_commit=baseline, branch=branch, details={"baseline": baseline},
        user=commit.author_name if commit is not None else None,
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _dvclive_series(repo: Repository, commit: CommitInfo) -> dict[str, list[SeriesPoint]]:
    series: dict[str, list[SeriesPoint]] = {}
    fallback = float(commit.time)
    for path, data in read_folder(repo, commit.id, DVCLIVE_PLOTS.rstrip("/")).items():
        if data is None or not path.endswith(".tsv"):
            continue
        name = path[:-len(".tsv")]
        points = _tsv_points(data.decode("utf-8", "replace"), name.rsplit("/", 1)[-1], fallback)
        if points:
            series[name] = points
    return series


def _tsv_points(text: str, column: str, fallback_time: float) -> list[SeriesPoint]:
    """DVCLive's ``timestamp\\tstep\\t<name>`` rows (timestamp in ms)."""
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    fields = reader.fieldnames or []
    value_column = column if column in fields else next((f for f in fields if f not in ("step", "timestamp")), None)
    if value_column is None:
        return []
    points: list[SeriesPoint] = []
    for index, row in enumerate(reader):
        try:
            value = float(row[value_column])
            step = int(float(row["step"])) if row.get("step") not in (None, "") else index
            when = float(row["timestamp"]) / 1000 if row.get("timestamp") not in (None, "") else fallback_time
        except (TypeError, ValueError):
            continue
        points.append((step, when, value))
    return points
