"""``git run show RUN``: everything recorded about one run."""

from __future__ import annotations

import re
import shlex
from typing import Any

from gitrun.commands.context import open_context
from gitrun.commands.data import data_summary
from gitrun.commands.organise_view import organise_lines
from gitrun.commands.output import fit, join_lines, output_width, print_json, wrap
from gitrun.commands.paging import paint, status_colour, to_terminal
from gitrun.commands.tracking_view import apply_live, tracking_lines
from gitrun.errors import RunNotFound
from gitrun.model.checks import EARLIER_OUTPUT, imported_distributions, normalise_distribution, sharing_summary
from gitrun.model.reproduce import lineage_summary
from gitrun.model.run import Run, run_summary_json
from gitrun.model.terminal import printable_log
from gitrun.model.timefmt import human_duration
from gitrun.store.commits import read_file
from gitrun.store.spool import OUTPUT_LOG, find_spool

LOG_TAIL_LINES = 20
MAX_LISTED_OUTPUTS = 5  # more earlier outputs left out of the snapshot are counted, not listed


def show_command(reference: str | None = None, as_json: bool = False, log: bool = False) -> int:
    ctx = open_context()
    run = ctx.store.resolve(reference) if reference is not None else newest_run(ctx)
    apply_live(ctx, run)  # params/metrics spooled so far by a run still going
    if log:
        data = run_log(ctx, run)
        import sys

        sys.stdout.flush()
        sys.stdout.buffer.write(printable_log(data) if to_terminal() else data)
        return 0
    if as_json:
        print_json(run_summary_json(run))
        return 0
    text = render(run, run_log(ctx, run), output_width())
    status_line = f"\nstatus   {run.status}"  # coloured after the lines were made printable
    print(text.replace(status_line, f"\nstatus   {paint(run.status, status_colour(run.status))}", 1))
    return 0


def newest_run(ctx: Any) -> Run:
    """The run started last (like ``git show`` showing HEAD)."""
    for run_id in ctx.store.run_ids():  # newest first: run ids sort by start time
        return ctx.store.get(run_id)  # type: ignore[no-any-return]
    raise RunNotFound("there are no runs yet", hint="record one with `git run -- COMMAND`")


def run_log(ctx: Any, run: Run) -> bytes:
    """The stored log, or the live spool's for a run still going."""
    spool = find_spool(ctx.paths, run.id)
    if spool is not None and spool.file(OUTPUT_LOG).exists():
        return spool.file(OUTPUT_LOG).read_bytes()
    path = str(run.section("log").get("path", "logs/output.log"))
    return read_file(ctx.repo, run.result_commit, path) or b""


def render(run: Run, log: bytes, width: int | None = None) -> str:
    """The report; with ``width``, long values wrap (command, message) or are cut (the rest)."""
    doc = run.doc
    lines: list[str] = [
        f"run      {run.id}  ({run.name})",
        f"status   {run.status}" + (f"  exit {run.exit_code}" if run.exit_code is not None else "")
        + (f"  signal {doc['signal']}" if doc.get("signal") else ""),
        f"command  {shlex.join(run.command)}   (in {doc.get('cwd', '.')})",
    ]
    lines += [f"broken   {problem}" for problem in run.problems]
    if run.problems:
        lines.append(f"         (only what could be read is shown; `git run rm {run.id[:10]}` removes the run)")
    lines += [f"notice   {notice}" for notice in run.notices]
    if run.message:
        lines.append(f"message  {' '.join(run.message.split())}")
    if run.tags:
        lines.append(f"tags     {', '.join(run.tags)}")
    lines.append(f"started  {doc.get('started', '-')}   ended {doc.get('ended', '-')}"
                 f"   duration {human_duration(run.duration_s)}")
    lines.append(f"by       {doc.get('user', '?')}@{doc.get('host', '?')}")
    if isinstance(doc.get("imported_from"), str):
        source = run.section("imported").get("source")
        lines.append(f"imported {doc['imported_from']}" + (f"  from {source}" if source else ""))
    lines.append(f"ref      {run.ref}")
    lines.append(f"code     {run.snapshot_commit}  (git checkout {run.snapshot_commit[:12]})")
    lines += _git_lines(run)
    lines += _section_lines("snapshot", _snapshot_summary(run))
    lines += _section_lines("environment", _env_summary(run))
    lines += _section_lines("hardware", _hardware_summary(run))
    lines += _section_lines("data", data_summary(run))
    lines += tracking_lines(run)
    lines += organise_lines(run)
    lines += _section_lines("sharing", sharing_summary(run.doc))
    lines += _section_lines("lineage", lineage_summary(run.doc))
    missing = run.section("missing")
    if missing:
        lines += _section_lines("not captured", {key: str(value) for key, value in missing.items()})
    lines = [wrapped for line in lines for wrapped in _fitted(line, width)]
    tail = log.decode("utf-8", "replace").splitlines()[-LOG_TAIL_LINES:]
    if tail:
        lines += ["", *wrap(f"output (last {len(tail)} lines; `git run show {run.id[:10]} --log` for all)", width)]
        lines += [fit(f"  {line}", width) for line in tail]  # the log as printed: cut, not rewrapped
    return join_lines(lines)


def _fitted(line: str, width: int | None) -> list[str]:
    """A line's leading blank lines (section breaks) kept, its text wrapped to ``width``. Newlines
    inside the text stay in it: they may come from a pulled note, and ``join_lines`` escapes them."""
    body = line.lstrip("\n")
    return [""] * (len(line) - len(body)) + _wrap_value(body, width)


_KEY = re.compile(r"^\s*\S.*?\s{2,}")  # "  key   " before a value


def _wrap_value(line: str, width: int | None) -> list[str]:
    """A "key  value" line wrapped under its value's column when longer than ``width``."""
    if width is None or len(line) <= width:
        return [line]
    match = _KEY.match(line)
    indent = match.end() if match and match.end() < width // 2 else 4
    return wrap(line[indent:], width, " " * indent, line[:indent])


def _section_lines(title: str, values: dict[str, str]) -> list[str]:
    if not values:
        return []
    width = max(len(key) for key in values)
    return [f"\n{title}"] + [f"  {key.ljust(width)}  {value}" for key, value in values.items()]


def _git_lines(run: Run) -> list[str]:
    git = run.git
    branch = git.get("branch") or ("(detached)" if git.get("detached") else "(none)")
    base = str(git.get("base_commit", ""))[:12] or "(unborn branch)"
    values = {"branch": branch, "base": base}
    if git.get("upstream"):
        values["upstream"] = str(git["upstream"])
    if git.get("remote_url"):
        values["remote"] = str(git["remote_url"])
    changes = []
    for key in ("modified", "added", "untracked", "deleted"):
        items = git.get(key) or []
        if items:
            changes.append(f"{len(items)} {key}")
    values["working tree"] = ("dirty: " + ", ".join(changes)) if git.get("dirty") else "clean"
    if git.get("shallow"):
        values["shallow"] = "yes (history is partial)"
    for sub in git.get("submodules", []) or []:
        values[f"submodule {sub.get('path')}"] = f"{str(sub.get('commit', '?'))[:12]}" + (
            " (dirty)" if sub.get("dirty") else "")
    return _section_lines("git", values)


def _snapshot_summary(run: Run) -> dict[str, str]:
    values: dict[str, str] = {}
    excluded = [item for item in run.section("snapshot").get("excluded", []) or [] if isinstance(item, dict)]
    outputs = [item for item in excluded if str(item.get("reason", "")).startswith(EARLIER_OUTPUT)]
    for item in excluded:
        if len(outputs) <= MAX_LISTED_OUTPUTS or item not in outputs:
            values[str(item.get("path"))] = "left out: " + str(item.get("reason"))
    if len(outputs) > MAX_LISTED_OUTPUTS:
        values[f"{len(outputs)} files"] = f"left out: {EARLIER_OUTPUT}s (show --json lists them)"
    return values


def _env_summary(run: Run) -> dict[str, str]:
    env = run.section("env")
    values: dict[str, str] = {}
    python = env.get("python")
    if isinstance(python, dict):
        values["python"] = f"{python.get('version', '?')} ({python.get('executable', '?')})"
    packages = env.get("packages")
    imported = imported_distributions(run.doc)
    if isinstance(packages, list):
        special = [str(p.get("name")) for p in packages
                   if isinstance(p, dict) and p.get("installer") in ("editable", "local")]
        used = [name for name in special if imported is None or normalise_distribution(name) in imported]
        unused = [name for name in special if name not in used]
        values["packages"] = f"{len(packages)} installed" + (
            f"; not reinstallable elsewhere: {', '.join(used)}" if used else "") + (
            f"; editable or local but never imported (no matter): {', '.join(unused)}" if unused else "")
    if isinstance(env.get("imported"), list):
        values["imported"] = ", ".join(str(name) for name in env["imported"]) or "no installed package"
    for key in ("conda_env", "virtualenv"):
        if env.get(key):
            values[key] = str(env[key])
    container = env.get("container")
    if isinstance(container, dict):
        values["container"] = str(container.get("kind", "none"))
    osinfo = env.get("os")
    if isinstance(osinfo, dict):
        values["os"] = f"{osinfo.get('distro') or osinfo.get('system', '?')} (kernel {osinfo.get('release', '?')})"
    variables = env.get("vars")
    if isinstance(variables, dict):
        redacted = env.get("redacted") or []
        values["env vars"] = f"{len(variables)} recorded, {len(redacted)} redacted"
    unset = env.get("read_unset")
    if isinstance(unset, list) and unset:
        values["read, unset"] = ", ".join(str(name) for name in unset)
    return values


def _hardware_summary(run: Run) -> dict[str, str]:
    hardware = run.section("hardware")
    values: dict[str, str] = {}
    cpu = hardware.get("cpu")
    if isinstance(cpu, dict):
        values["cpu"] = f"{cpu.get('model', '?')} ({cpu.get('cores_physical', '?')} cores, " \
                        f"{cpu.get('cores_logical', '?')} threads)"
    if hardware.get("memory_bytes"):
        values["memory"] = f"{int(hardware['memory_bytes']) / 1024**3:.1f} GiB"
    gpus = hardware.get("gpus")
    if isinstance(gpus, list):
        values["gpus"] = ", ".join(
            f"{g.get('name')} ({int(g.get('memory_bytes', 0)) / 1024**3:.0f} GiB)" for g in gpus) or "none"
    return values
