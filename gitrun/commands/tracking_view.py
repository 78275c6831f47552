"""Parameters, metrics, system samples and outputs of a run, for ``show`` and ``metrics``.

A finished run's data is in its note and result tree. A run still going has it in its live spool:
``apply_live`` merges what the spool holds so far into the run's document (in memory only), so
``git run show`` sees points within the API's flush interval (about a second).
"""

from __future__ import annotations

import math
from typing import Any

from gitrun.model import status as statuses
from gitrun.model.captured import deep_update
from gitrun.model.run import Run
from gitrun.model.series import SYSTEM_PREFIX, SeriesPoint, name_from_path, parse_tsv
from gitrun.model.units import human_bytes
from gitrun.store.commits import read_folder
from gitrun.store.spool import find_spool


def apply_live(ctx: Any, run: Run) -> dict[str, list[SeriesPoint]] | None:
    """For a running run, merge the spooled params/metrics/summary into ``run.doc``; its series."""
    if run.status != statuses.RUNNING:
        return None
    spool = find_spool(ctx.paths, run.id)
    if spool is None:
        return None
    from gitrun.runner.tracking import tracking_updates  # every recording feature: only for a running run

    series, updates = tracking_updates(spool)
    deep_update(run.doc, updates)
    return series


def stored_series(ctx: Any, run: Run) -> dict[str, list[SeriesPoint]]:
    """Every series in the run's result tree (``metrics/**.tsv``), or the spool's while it runs."""
    live = apply_live(ctx, run)
    if live is not None:
        return live
    series: dict[str, list[SeriesPoint]] = {}
    for path, data in read_folder(ctx.repo, run.result_commit, "metrics").items():
        name = name_from_path("metrics/" + path)
        if name is not None:
            series[name] = parse_tsv(data) if data is not None else []
    return series


def _number(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6g}"
    return str(value)


def _param(value: Any) -> str:
    if isinstance(value, str):
        return value if value and not value.isspace() else repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return _number(value) if isinstance(value, float) else str(value)


def _console_lines(console: dict[str, Any]) -> list[str]:
    """Numbers printed once (console facts, not metrics) and output too fast to parse."""
    lines: list[str] = []
    facts = console.get("facts")
    if isinstance(facts, dict) and facts:
        width = min(max(len(str(name)) for name in facts), 40)
        lines.append("\nconsole facts (printed once; not metrics)")
        lines += [f"  {str(name).ljust(width)}  {_number(value)}" for name, value in sorted(facts.items())]
    skipped = console.get("skipped_lines")
    if skipped:
        lines.append(f"\nconsole metrics: {skipped} lines ({human_bytes(console.get('skipped_bytes'))}) came "
                     "faster than they could be parsed and were not read for metrics (they are in the log)")
    return lines


def tracking_lines(run: Run) -> list[str]:
    """The params / metrics / system / outputs sections of ``git run show``."""
    lines: list[str] = []
    params = run.section("params")
    sources = run.section("params_source")
    if params:
        width = min(max(len(key) for key in params), 40)
        shown = {key: _param(params[key]) for key in params}
        value_width = min(max(len(text) for text in shown.values()), 30)
        lines.append("\nparams")
        for key in sorted(params):
            source = sources.get(key)
            lines.append(f"  {key.ljust(width)}  {shown[key].ljust(value_width)}" + (f"  ({source})" if source else ""))
    summary = run.section("summary")
    user = {name: value for name, value in summary.items() if not name.startswith(SYSTEM_PREFIX)}
    if user:
        width = max(len(name) for name in user)
        lines.append("\nmetrics")
        lines.append(f"  {'name'.ljust(width)}  {'last':<10}  {'min':<10}  {'max':<10}  points")
        for name in sorted(user):
            item = user[name] if isinstance(user[name], dict) else {}
            lines.append(f"  {name.ljust(width)}  {_number(item.get('last', '')):<10}  "
                         f"{_number(item.get('min', '-')):<10}  {_number(item.get('max', '-')):<10}  "
                         f"{item.get('count', '')}")
    lines += _console_lines(run.section("console"))
    system = {name: value for name, value in summary.items() if name.startswith(SYSTEM_PREFIX)}
    if system:
        lines.append("\nsystem (max over the run)")
        width = max(len(name) for name in system) - len(SYSTEM_PREFIX)
        for name in sorted(system):
            item = system[name] if isinstance(system[name], dict) else {}
            peak = item.get("max", item.get("last", ""))
            text = human_bytes(peak) if name.endswith("_bytes") else _number(peak)
            lines.append(f"  {name[len(SYSTEM_PREFIX):].ljust(width)}  {text}")
    outputs = run.doc.get("outputs")
    if isinstance(outputs, list) and outputs:
        lines.append(f"\noutputs ({len(outputs)}; `git run checkout-output {run.id[:10]}` restores stored ones)")
        for item in outputs[:50]:
            if not isinstance(item, dict):
                continue
            state = "stored" if item.get("stored") else "hash only: " + str(item.get("not_stored", "not stored"))
            lines.append(f"  {item.get('path')}  {human_bytes(item.get('size'))}  "
                         f"{str(item.get('hash', ''))[:19]}…  {state}")
        if len(outputs) > 50:
            lines.append(f"  … and {len(outputs) - 50} more (`git run show {run.id[:10]} --json`)")
    return lines
