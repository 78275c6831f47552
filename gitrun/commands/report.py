"""``git run report``: a self-contained HTML (or markdown) report of selected runs.

HTML: one file, inline CSS and SVG, no JavaScript and no network, so it opens offline in any browser
and can be mailed or attached to a pull request. It holds a table of the runs, a line chart per
chosen metric across steps, the parameters and last metric values side by side, the runs' notes,
and the journal entries that link the runs. Markdown (``-o report.md``): the same tables, sparklines
instead of charts.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitrun.commands.context import Context, open_context
from gitrun.commands.journal import RUN_LINK, split_entries
from gitrun.commands.output import short_ids
from gitrun.commands.selection import scope_line, select_runs
from gitrun.errors import UsageError
from gitrun.model import charts, compare
from gitrun.model.query import format_value
from gitrun.model.run import Run
from gitrun.model.series import parse_tsv, series_path
from gitrun.model.terminal import printable
from gitrun.model.timefmt import human_duration, to_iso
from gitrun.store.commits import read_file
from gitrun.store.journal import read_journal

MAX_DEFAULT_CHARTS = 8
DEFAULT_LIMIT = 10


@dataclass
class ReportData:
    runs: list[Run]
    ids: dict[str, str]
    metrics: list[str]  # charted metric names
    series: dict[str, dict[str, list[tuple[float, float]]]]  # run id -> metric -> [(step, value)]
    params: list[str]  # the parameters that differ across the runs (all of them for one run)
    last_metrics: list[str]
    journal: list[str]  # entries linking the runs
    directions: dict[str, str | None]
    scope: str
    generated: str
    colors: dict[str, str] = field(default_factory=dict)
    same_params: dict[str, Any] = field(default_factory=dict)  # the same value in every run: folded


def _table(doc: dict[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name)
    return value if isinstance(value, dict) else {}


def read_series(ctx: Context, run: Run, name: str) -> list[tuple[float, float]]:
    data = read_file(ctx.repo, run.result_commit, series_path(name))
    if data is None:
        return []
    try:
        return [(float(step), float(value)) for step, _time, value in parse_tsv(data)]
    except (ValueError, TypeError):
        return []


def gather(ctx: Context, runs: list[Run], metrics: list[str] | None, scope: str) -> ReportData:
    every_metric: list[str] = []
    for run in runs:
        for name in _table(run.doc, "metrics"):
            if name not in every_metric:
                every_metric.append(name)
    default = [name for name in sorted(every_metric) if not name.startswith("system/")][:MAX_DEFAULT_CHARTS]
    chosen = metrics or default
    series = {run.id: {name: read_series(ctx, run, name) for name in chosen} for run in runs}
    # A metric logged once per run is a number, not a curve: the last-values table shows it.
    chosen = [name for name in chosen if any(len(series[run.id][name]) > 1 for run in runs)]
    params, same_params = split_params(runs)
    overrides = ctx.settings.section("metrics").get("direction")
    overrides = overrides if isinstance(overrides, dict) else {}
    last_metrics = sorted(name for name in every_metric if not name.startswith("system/"))
    directions = {name: compare.metric_direction(name, overrides) for name in {*chosen, *last_metrics}}
    journal_text, _tip = read_journal(ctx.repo)
    entries = [entry for entry in split_entries(journal_text) if _links_any(entry, runs)]
    colors = {run.id: charts.color(index) for index, run in enumerate(runs)}
    return ReportData(runs, short_ids(ctx.store.list_runs()), chosen, series, params, last_metrics, entries,
                      directions, scope, to_iso(datetime.now(UTC)), colors, same_params)


def split_params(runs: list[Run]) -> tuple[list[str], dict[str, Any]]:
    """(names of the parameters that differ across ``runs``, {name: value} of those the same in all)."""
    names = sorted({key for run in runs for key in _table(run.doc, "params")})
    if len(runs) < 2:
        return names, {}
    differ: list[str] = []
    same: dict[str, Any] = {}
    for name in names:
        values = [_table(run.doc, "params").get(name, _ABSENT) for run in runs]
        if all(value == values[0] for value in values) and values[0] is not _ABSENT:
            same[name] = values[0]
        else:
            differ.append(name)
    return differ, same


_ABSENT = object()


def _links_any(entry: str, runs: list[Run]) -> bool:
    for match in RUN_LINK.finditer(entry):
        prefix = (match.group(1) or match.group(2)).lower()
        if any(run.id.startswith(prefix) for run in runs):
            return True
    return False


def report_command(references: Sequence[str], output: str, where: str | None = None,
                   all_branches: bool = False, limit: int | None = None, metrics: str | None = None) -> int:
    target = Path(output)
    suffix = target.suffix.lower()
    if suffix not in (".html", ".htm", ".md", ".markdown"):
        raise UsageError(f"cannot tell the report format from '{output}'", hint="use -o report.html or -o report.md")
    ctx = open_context()
    if references:
        runs: list[Run] = []
        for reference in references:
            run = ctx.store.resolve(reference)
            if run.id not in {r.id for r in runs}:
                runs.append(run)
        scope = f"{len(runs)} run{'s' if len(runs) != 1 else ''} chosen by name"
        if where:
            raise UsageError("give runs or --where, not both")
    else:
        selection = select_runs(ctx.store.list_runs(), ctx.repo, where=where, all_branches=all_branches,
                                limit=limit or DEFAULT_LIMIT)
        runs = selection.runs
        scope = scope_line(selection) + (f", where {where}" if where else "")
        if selection.matched > len(runs):
            scope += f"; newest {len(runs)} of {selection.matched} runs (--limit N for more)"
        if not runs and selection.notes:
            raise UsageError(f"no runs to report on: {'; '.join(selection.notes)}", hint="check --where")
    if not runs:
        raise UsageError("no runs to report on", hint="check --where, or add --all-branches")
    names = [name.strip() for name in metrics.split(",") if name.strip()] if metrics else None
    data = gather(ctx, runs, names, scope)
    text = render_html(data) if suffix in (".html", ".htm") else render_markdown(data)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target} ({len(runs)} run{'s' if len(runs) != 1 else ''}, {len(data.metrics)} chart"
          f"{'s' if len(data.metrics) != 1 else ''})")
    return 0


# --- HTML -----------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;color:#222;
padding:0 1em}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border:1px solid #ddd;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.differs td{background:#fff8e1}td.best{font-weight:bold;color:#1a7f37}
.swatch{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.4em;vertical-align:middle}
.charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0;border:1px solid #eee;padding:.5em}
figcaption{font-weight:600;margin-bottom:.3em}.legend{font-size:.85em}.meta{color:#666;font-size:.9em}
.tag{background:#eef;border-radius:3px;padding:0 4px;margin-right:3px;font-size:.85em}
.status-succeeded{color:#1a7f37}.status-failed,.status-crashed,.status-killed{color:#cf222e}
pre.note,blockquote{white-space:pre-wrap;background:#f6f8fa;padding:.6em;border-radius:4px;margin:.3em 0}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    return format_value([value]) if value is not None else "–"


def _linkify(text: str, data: ReportData) -> str:
    """Escape ``text`` and turn run links into anchors to the runs in this report."""
    out: list[str] = []
    last = 0
    for match in RUN_LINK.finditer(text):
        out.append(html.escape(text[last:match.start()]))
        prefix = (match.group(1) or match.group(2)).lower()
        found = [run for run in data.runs if run.id.startswith(prefix)]
        shown = html.escape(match.group(0))
        if len(found) == 1:
            out.append(f'<a href="#run-{_e(found[0].id)}">{shown} ({_e(found[0].name)})</a>')
        else:
            out.append(shown)
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def render_html(data: ReportData) -> str:
    parts = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>gitrun report: {len(data.runs)} runs</title><style>{_CSS}</style></head><body>",
             f"<h1>gitrun report</h1><p class=\"meta\">{len(data.runs)} runs ({_e(data.scope)}); generated "
             f"{_e(data.generated)}</p>"]
    parts.append('<h2 id="runs">Runs</h2><table class="runs"><thead><tr><th>run</th><th>name</th><th>status</th>'
                 "<th>started</th><th>duration</th><th>branch</th><th>commit</th><th>tags</th><th>message</th>"
                 "<th>expect</th></tr></thead><tbody>")
    for run in data.runs:
        expect = run.doc.get("expect")
        expect_text = ""
        if isinstance(expect, dict):
            state = "met" if expect.get("met") else "missed" if "met" in expect else "pending"
            expect_text = f"{_e(expect.get('expression', ''))}: <b>{state}</b>"
        tags = "".join(f'<span class="tag">{_e(tag)}</span>' for tag in run.tags)
        baseline = run.doc.get("baseline_of")
        if isinstance(baseline, list) and baseline:
            tags += f'<span class="tag">baseline of {_e(", ".join(map(str, baseline)))}</span>'
        parts.append(
            f'<tr id="run-{_e(run.id)}" class="run"><td><span class="swatch" style="background:'
            f'{data.colors[run.id]}"></span><code>{_e(data.ids.get(run.id, run.id[:10]))}</code></td>'
            f"<td>{_e(run.name)}</td><td class=\"status-{_e(run.status)}\">{_e(run.status)}</td>"
            f"<td>{_e(run.doc.get('started', ''))}</td><td class=\"num\">{_e(human_duration(run.duration_s))}</td>"
            f"<td>{_e(run.branch or '-')}</td><td><code>{_e(run.snapshot_commit[:10])}</code></td><td>{tags}</td>"
            f"<td>{_e(run.message)}</td><td>{expect_text}</td></tr>")
    parts.append("</tbody></table>")
    if data.metrics:
        parts.append('<h2 id="charts">Metrics over steps</h2><div class="charts">')
        for name in data.metrics:
            lines = [(run.id, f"{run.name} ({data.ids.get(run.id, run.id[:8])})", data.series[run.id][name])
                     for run in data.runs]
            direction = data.directions.get(name)
            caption = name + (f" ({direction} is better)" if direction else "")
            legend = " ".join(
                f'<span class="legend"><span class="swatch" style="background:{data.colors[run.id]}"></span>'
                f"{_e(run.name)}</span>" for run in data.runs if data.series[run.id][name])
            parts.append(f'<figure data-metric="{_e(name)}"><figcaption>{_e(caption)}</figcaption>'
                         f"{charts.line_chart(name, lines, data.colors)}<div>{legend}</div></figure>")
        parts.append("</div>")
    parts.append(_comparison_html("Last metric values", data, "metrics", data.last_metrics, best=True))
    parts.append(_comparison_html("Parameters", data, "params", data.params, best=False))
    if data.same_params:
        rows = "".join(f"<tr><th>{_e(key)}</th><td>{_e(_fmt(value))}</td></tr>"
                       for key, value in data.same_params.items())
        parts.append(f'<details class="same-params"><summary>Same in all {len(data.runs)} runs: '
                     f"{len(data.same_params)} parameter(s)</summary><table>{rows}</table></details>")
    notes = [(run, str(run.doc.get("note", ""))) for run in data.runs if run.doc.get("note")]
    if notes:
        parts.append('<h2 id="notes">Notes</h2>')
        for run, note in notes:
            parts.append(f'<h3><a href="#run-{_e(run.id)}">{_e(run.name)}</a></h3>'
                         f'<pre class="note">{_linkify(note, data)}</pre>')
    if data.journal:
        parts.append('<h2 id="journal">Journal</h2>')
        for entry in data.journal:
            parts.append(f'<blockquote class="journal-entry">{_linkify(entry, data)}</blockquote>')
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _comparison_html(title: str, data: ReportData, section: str, keys: list[str], best: bool) -> str:
    if not keys:
        return ""
    anchor = re.sub(r"[^a-z]+", "-", title.lower())
    head = "".join(f'<th><span class="swatch" style="background:{data.colors[run.id]}"></span>{_e(run.name)}</th>'
                   for run in data.runs)
    rows = []
    for key in keys:
        values = [_table(run.doc, section).get(key) for run in data.runs]
        distinct = {repr(value) for value in values}
        best_index = _best(values, data.directions.get(key)) if best else None
        cells = "".join(
            f'<td class="num{" best" if index == best_index else ""}">{_e(_fmt(value))}</td>'
            for index, value in enumerate(values))
        row_class = ' class="differs"' if len(distinct) > 1 else ""
        label = key + ({"lower": " ↓", "higher": " ↑"}.get(data.directions.get(key) or "", "") if best else "")
        rows.append(f"<tr{row_class}><th>{_e(label)}</th>{cells}</tr>")
    return (f'<h2 id="{anchor}">{_e(title)}</h2><table class="{section}"><thead><tr><th></th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _best(values: list[Any], direction: str | None) -> int | None:
    numbers = [(index, float(v)) for index, v in enumerate(values)
               if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v))]
    if not direction or len(numbers) < 2 or len({v for _, v in numbers}) < 2:
        return None
    chosen = min(numbers, key=lambda item: item[1]) if direction == "lower" else max(numbers, key=lambda i: i[1])
    return chosen[0]


# --- markdown -------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"[\\`*_\[\]|~]")


def _md(value: Any) -> str:
    """One markdown table cell or heading: a pulled run's text can neither add HTML, links or
    formatting nor break the table (markup shown as text, control characters escaped)."""
    text = printable(" ".join(str(value).split()))
    return _MD_SPECIAL.sub(lambda match: "\\" + match.group(), html.escape(text, quote=False))


def _md_block(text: str) -> str:
    """A run's markdown note or a journal entry: its markdown kept, raw HTML shown as text."""
    return html.escape(printable(text, keep_newlines=True), quote=False)


def render_markdown(data: ReportData) -> str:
    lines = ["# gitrun report", "", f"{len(data.runs)} runs ({data.scope}); generated {data.generated}", "",
             "## Runs", "", "| run | name | status | started | duration | branch | tags | message | expect |",
             "|---|---|---|---|---|---|---|---|---|"]
    for run in data.runs:
        expect = run.doc.get("expect")
        expect_text = ""
        if isinstance(expect, dict):
            expect_text = f"{expect.get('expression', '')}: " + (
                "met" if expect.get("met") else "missed" if "met" in expect else "pending")
        tags = ", ".join(run.tags)
        lines.append(f"| `{data.ids.get(run.id, run.id[:10])}` | {_md(run.name)} | {_md(run.status)} | "
                     f"{_md(run.doc.get('started', ''))} | {human_duration(run.duration_s)} | "
                     f"{_md(run.branch or '-')} | "
                     f"{_md(tags)} | {_md(run.message)} | {_md(expect_text)} |")
    if data.metrics:
        lines += ["", "## Metrics over steps", ""]
        for name in data.metrics:
            lines += [f"### {_md(name)}", "", "| run | last | curve |", "|---|---|---|"]
            for run in data.runs:
                points = data.series[run.id][name]
                if points:
                    lines.append(f"| {_md(run.name)} | {_fmt(points[-1][1])} | "
                                 f"{charts.sparkline([value for _, value in points])} |")
            lines.append("")
    for title, section, keys in (("Last metric values", "metrics", data.last_metrics),
                                 ("Parameters", "params", data.params)):
        if not keys:
            continue
        lines += ["", f"## {title}", "", "| | " + " | ".join(_md(run.name) for run in data.runs) + " |",
                  "|---" * (len(data.runs) + 1) + "|"]
        for key in keys:
            values = [_table(run.doc, section).get(key) for run in data.runs]
            best_index = _best(values, data.directions.get(key)) if section == "metrics" else None
            cells = [f"**{_md(_fmt(v))}**" if index == best_index else _md(_fmt(v)) for index, v in enumerate(values)]
            lines.append(f"| {_md(key)} | " + " | ".join(cells) + " |")
    if data.same_params:
        lines += ["", f"Same in all {len(data.runs)} runs: " +
                  ", ".join(f"{_md(key)} = {_md(_fmt(value))}" for key, value in data.same_params.items())]
    notes = [(run, str(run.doc.get("note", ""))) for run in data.runs if run.doc.get("note")]
    if notes:
        lines += ["", "## Notes"]
        for run, note in notes:
            lines += ["", f"### {_md(run.name)}", "", _md_block(note.strip())]
    if data.journal:
        lines += ["", "## Journal", ""]
        for entry in data.journal:
            lines += ["> " + line for line in _md_block(entry).splitlines()] + [""]
    return "\n".join(lines).rstrip("\n") + "\n"
