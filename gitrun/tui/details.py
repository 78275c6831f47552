"""What the run screen's tabs show, as plain rows (no textual): overview, parameters, data, environment."""

from __future__ import annotations

import shlex
from typing import Any

from gitrun.model import checks
from gitrun.model.fields import baseline_branches
from gitrun.model.query import format_value
from gitrun.model.reproduce import lineage_summary
from gitrun.model.run import Run
from gitrun.model.series import SYSTEM_PREFIX
from gitrun.model.timefmt import human_duration
from gitrun.model.units import human_bytes

Rows = list[tuple[str, str]]


def overview(run: Run) -> list[tuple[str, Rows]]:
    """Sections of (label, value) rows: the run, git context, expectation, reproducibility checks."""
    doc = run.doc
    status = run.status + (f" (exit {run.exit_code})" if run.exit_code is not None else "")
    if doc.get("signal"):
        status += f" signal {doc['signal']}"
    main: Rows = [("id", run.id), ("name", run.name), ("status", status),
                  ("command", shlex.join(run.command)), ("cwd", str(doc.get("cwd", ".")))]
    if run.message:
        main.append(("message", run.message))
    if run.tags:
        main.append(("tags", " ".join(run.tags)))
    marks = baseline_branches(doc)
    if marks:
        main.append(("baseline of", ", ".join(marks)))
    main += [("started", str(doc.get("started", "-"))), ("ended", str(doc.get("ended", "-"))),
             ("duration", human_duration(run.duration_s)),
             ("by", f"{doc.get('user', '?')}@{doc.get('host', '?')}")]
    if doc.get("error"):
        main.append(("error", str(doc["error"])))
    git = run.git
    git_rows: Rows = [("branch", run.branch or "-"), ("base commit", str(git.get("base_commit", ""))[:12] or "-"),
                      ("snapshot", run.snapshot_commit[:12]), ("result", run.result_commit[:12])]
    if git.get("upstream"):
        git_rows.append(("upstream", str(git["upstream"])))
    changed = [f"{kind} {len(git.get(kind) or [])}" for kind in ("modified", "added", "untracked", "deleted")
               if git.get(kind)]
    git_rows.append(("uncommitted", ", ".join(changed) if changed else "none (clean)"))
    sections = [("run", main), ("git", git_rows)]
    expect = doc.get("expect")
    if isinstance(expect, dict):
        met = expect.get("met")
        verdict = "met" if met is True else "missed" if met is False else "not checked yet"
        sections.append(("expectation", [("expression", str(expect.get("expression", ""))), ("result", verdict),
                                         ("detail", str(expect.get("detail", "")))]))
    lineage = lineage_summary(doc)  # rerun/reproduce links and verdicts (git run reproduce)
    if lineage:
        sections.append(("lineage", list(lineage.items())))
    sections.append(("reproducibility checks", reproducibility(run)))
    return sections


def reproducibility(run: Run) -> Rows:
    """Each check's verdict on the metadata alone (the secrets scan needs git and is left to `git run check`)."""
    label = run.id[:10]
    doc = run.doc
    accepted = checks.accepted_checks(doc)
    rows: Rows = []
    for name, check in ((checks.CODE, checks.check_code), (checks.DATA, checks.check_data),
                        (checks.ENVIRONMENT, checks.check_environment), (checks.ENV_VARS, checks.check_env_vars),
                        (checks.OUTCOME, checks.check_outcome)):
        findings = check(label, doc)
        if not findings:
            rows.append((name, "ok"))
        elif name in accepted or "all" in accepted:
            rows.append((name, "accepted: " + findings[0][0]))
        else:
            rows.append((name, "✗ " + findings[0][0]))
    return rows


def params(run: Run) -> list[tuple[str, ...]]:
    values = run.section("params")
    sources = run.section("params_source")
    return [(key, format_value([values[key]]), str(sources.get(key, ""))) for key in sorted(values)]


def metric_summary(run: Run, system: bool = False) -> list[tuple[str, ...]]:
    """(name, last, min, max, points) per series, from the note's summary."""
    out = []
    for name, item in sorted(run.section("summary").items()):
        if name.startswith(SYSTEM_PREFIX) != system or not isinstance(item, dict):
            continue
        out.append((name, *(format_value([item.get(key)]) for key in ("last", "min", "max", "count"))))
    return out


def data_rows(run: Run) -> list[tuple[str, ...]]:
    items = run.doc.get("data")
    if not isinstance(items, list):
        return []
    rows: list[tuple[str, ...]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        name = str(item.get("name") or item.get("path"))
        version = str(item.get("version") or "")
        rows.append((name + (f":{version}" if version else ""), str(item.get("path", "")),
                     str(item.get("hash", ""))[:19], human_bytes(item.get("size")), str(item.get("files", "")),
                     str(item.get("location", "")), "declared" if item.get("declared") else "detected"))
    return rows


def environment(run: Run) -> tuple[Rows, list[tuple[str, str, str]], Rows]:
    """(general rows, packages (name, version, installer), environment variables)."""
    env = run.section("env")
    general: Rows = []
    python = env.get("python")
    if isinstance(python, dict):
        general.append(("python", f"{python.get('version', '')} {python.get('executable', '')}".strip()))
    for key in ("virtualenv", "conda_env"):
        if env.get(key):
            general.append((key, str(env[key])))
    for key in ("os", "container"):
        value = env.get(key)
        if isinstance(value, dict):
            general.append((key, " ".join(str(v) for v in value.values())))
    hardware = run.section("hardware")
    cpu = hardware.get("cpu")
    if isinstance(cpu, dict):
        general.append(("cpu", f"{cpu.get('model', '')} ({cpu.get('cores_logical', '?')} threads)"))
    if hardware.get("memory_bytes"):
        general.append(("memory", human_bytes(hardware["memory_bytes"])))
    for gpu in hardware.get("gpus") or []:
        if isinstance(gpu, dict):
            memory = human_bytes(gpu.get("memory_bytes"))
            general.append((f"gpu {gpu.get('index', '')}", f"{gpu.get('name', '')} {memory}"))
    packages = [(str(p.get("name", "")), str(p.get("version", "")), str(p.get("installer", "")))
                for p in env.get("packages") or [] if isinstance(p, dict)]
    variables = env.get("vars")
    var_rows: Rows = sorted((str(k), str(v)) for k, v in variables.items()) if isinstance(variables, dict) else []
    return general, sorted(packages), var_rows


def outputs(items: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [(str(item.get("path", "")), human_bytes(item.get("size")), str(item.get("hash", ""))[:19],
             "stored" if item.get("stored") else str(item.get("not_stored", "hash only")))
            for item in items]
