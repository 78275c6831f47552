"""``git run check [RUN...]``: can someone else reproduce these runs? Also ``--accept``.

Six checks per run (``gitrun.model.checks`` has five of them as pure functions of the metadata;
the secrets scan reads git objects and lives here):

1. code: nothing left out of the snapshot without being accounted for;
2. data: every data input reachable by others;
3. environment: no package from a local path or editable outside the repo, none without a version;
4. env_vars: the variables the run read but whose values are not recorded are declared;
5. secrets: nothing the run publishes (note, result tree with logs and outputs, snapshot changes)
   holds a key, token or password; every byte is scanned, streamed;
6. outcome: the run is not ``running`` or ``crashed``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from functools import cache
from typing import Any

from gitrun.commands.context import Context, open_context
from gitrun.commands.output import output_width, print_json, wrap
from gitrun.commands.selection import select_runs
from gitrun.errors import GitrunError, UsageError
from gitrun.model import checks as C
from gitrun.model.checks import Finding
from gitrun.model.run import Run
from gitrun.model.timefmt import to_iso, utc_now
from gitrun.store.git import Repository, user_identity
from gitrun.store.secret_scan import scan_changes, scan_note, scan_tree


def check_config(ctx: Context) -> dict[str, Any]:
    return ctx.settings.section("check")


def run_checks(ctx: Context, run: Run, config: dict[str, Any] | None = None,
               only: str | None = None) -> list[Finding]:
    """Every finding of every enabled check (or just ``only``), except the checks accepted for this run."""
    config = check_config(ctx) if config is None else config
    doc = run.doc
    accepted = C.accepted_checks(doc)
    label = run.name or run.id[:10]
    results: list[tuple[str, list[tuple[str, str]]]] = []
    enabled = [check for check in C.CHECKS if C.severity_for(config, check) != C.OFF and check not in accepted
               and (only is None or check == only)]
    for check in enabled:
        if check == C.CODE:
            problems = C.check_code(label, doc)
        elif check == C.DATA:
            problems = C.check_data(label, doc)
        elif check == C.ENVIRONMENT:
            problems = C.check_environment(label, doc, str(ctx.paths.workdir), own_distributions())
        elif check == C.ENV_VARS:
            problems = C.check_env_vars(label, doc)
        elif check == C.SECRETS:
            problems = check_secrets(ctx.repo, run, label)
        elif check == C.REPRODUCED:
            problems = C.check_reproduced(label, doc)
        else:
            problems = C.check_outcome(label, doc)
        results.append((check, problems))
    return [Finding(run.id, check, C.severity_for(config, check), problem, fix)
            for check, problems in results for problem, fix in problems]


@cache
def own_distributions() -> frozenset[str]:
    """gitrun and everything it requires (recursively): never a problem of a run that did not import it."""
    from importlib import metadata

    found: set[str] = set()
    pending = ["gitrun"]
    while pending:
        name = pending.pop()
        key = C.normalise_distribution(name)
        if key in found:
            continue
        found.add(key)
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in requirements:
            if "extra ==" in requirement:
                continue  # optional extras (dev tools) are not needed to run gitrun
            match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
            if match:
                pending.append(match.group(0))
    return frozenset(found)


# --- check 5: secrets ------------------------------------------------------------------------------

def check_secrets(repo: Repository, run: Run, label: str) -> list[tuple[str, str]]:
    """Everything the run publishes, scanned whole: its note, its result tree (logs, outputs/, series)
    and the files its snapshot changes (``gitrun.store.secret_scan``)."""
    fix_tail = f"or, if it is a false alarm: git run check --accept \"REASON\" {label} --only {C.SECRETS}"
    problems: list[tuple[str, str]] = []
    for leak in scan_changes(repo, run.snapshot_commit):
        problems.append((
            f"{leak.path} line {leak.line} holds what looks like a {leak.kind} (in the run's code changes)",
            "remove it from the file (read it from an environment variable), revoke it, re-record the run "
            f"and delete this one (git run rm {label}); {fix_tail}",
        ))
    for leak in scan_tree(repo, run.result_commit):
        where = "the stored log" if leak.path.startswith("logs/") else "the stored file"
        problems.append((
            f"{where} {leak.path} line {leak.line} holds what looks like a {leak.kind}",
            f"stop printing or writing it, revoke it, and delete this run (git run rm {label}); {fix_tail}",
        ))
    for leak in scan_note(run.note_bytes or b""):
        problems.append((
            f"the run's metadata (note) line {leak.line} holds what looks like a {leak.kind}",
            f"revoke it, and delete this run (git run rm {label}) or edit its note; {fix_tail}",
        ))
    return problems


# --- reporting -----------------------------------------------------------------------------------

def _label(run: Run) -> str:
    return run.name or run.id[:10]


def group_findings(findings: list[Finding], runs: Iterable[Run]) -> list[tuple[Finding, list[Run]]]:
    """Identical problems of several runs as one: (a finding, every run it affects), in order of
    first appearance. A run's own name in the texts is what may differ (fixes name the run)."""
    by_id = {run.id: run for run in runs}
    groups: dict[tuple[str, str, str, str], tuple[Finding, list[Run]]] = {}
    for finding in findings:
        run = by_id.get(finding.run_id)
        if run is None:
            continue
        label = _label(run)
        key = (finding.severity, finding.check, finding.problem.replace(label, "RUN"),
               finding.fix.replace(label, "RUN"))
        if key in groups:
            groups[key][1].append(run)
        else:
            groups[key] = (finding, [run])
    return list(groups.values())


def _runs_text(runs: list[Run], width: int | None) -> str:
    if len(runs) <= 3:
        return ", ".join(f"{run.id} ({run.name})" if run.name else run.id for run in runs)
    names = [_label(run) for run in runs]
    shown = names if width is None else names[:8]
    rest = len(names) - len(shown)
    return ", ".join(shown) + (f" and {rest} more" if rest else "") + f" ({len(runs)} runs)"


def render_findings(ctx: Context, findings: list[Finding], runs: Iterable[Run], width: int | None = None) -> str:
    """One entry per distinct problem: severity, check, what is wrong, the runs it affects, the fix;
    wrapped to ``width`` columns (None: one line each)."""
    lines: list[str] = []
    indent = " " * 21
    for finding, affected in group_findings(findings, runs):
        fix = finding.fix
        if len(affected) > 1:
            fix = fix.replace(_label(affected[0]), "RUN")
        lines += wrap(finding.problem, width, indent, f"{finding.severity:<5}  {finding.check:<11}  ")
        lines += wrap(_runs_text(affected, width), width, indent + "      ", indent + "runs: ")
        lines += wrap(fix, width, indent + "     ", indent + "fix: ")
    return "\n".join(lines)


def report(ctx: Context, runs: list[Run], out: Any = None, context: str = "check", only: str | None = None,
           fmt: str = "text") -> int:
    """Check ``runs``, print the findings (``fmt``: text, json, or quiet: nothing); 1 when any is an error."""
    out = out or sys.stdout
    width = output_width(out)
    config = check_config(ctx)
    findings: list[Finding] = []
    for run in runs:
        findings.extend(run_checks(ctx, run, config, only))
    errors = [f for f in findings if f.severity == C.ERROR]
    if fmt == "json":
        print_json({"checked": [run.id for run in runs], "passed": not errors,
                    "findings": [{"run": f.run_id, "check": f.check, "severity": f.severity, "problem": f.problem,
                                  "fix": f.fix} for f in findings]})
    if fmt != "text":
        return 1 if errors else 0
    if findings:
        print(render_findings(ctx, findings, runs, width), file=out)
    if errors:
        blocked = len({f.run_id for f in errors})
        if context == "pre-push":
            text = (f"gitrun: push blocked: {blocked} run(s) could not be reproduced by others "
                    f"({len(errors)} problem(s) above). Fix them, accept them with "
                    "`git run check --accept \"REASON\" RUN... [--only CHECK]`, or push anyway with "
                    "`git push --no-verify`.")
        else:
            text = f"gitrun: {blocked} of {len(runs)} run(s) failed the checks ({len(errors)} problem(s))."
        print("\n".join(wrap(text, width)), file=out)
        return 1
    if context != "pre-push" or findings:
        print(f"gitrun: {len(runs)} run(s) checked: " +
              ("reproducible by others." if not findings else f"{len(findings)} warning(s), nothing blocking."),
              file=out)
    return 0


# --- the command ---------------------------------------------------------------------------------

def accept_run(ctx: Context, run: Run, reason: str, only: str | None) -> None:
    if not reason.strip():
        raise UsageError("an accept needs a reason", hint='git run check --accept "why this is fine" RUN')
    check = only or "all"
    entry = {"check": check, "reason": reason, "by": user_identity(ctx.repo),
             "at": to_iso(utc_now())}

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        accepted = doc.get("accepted")
        doc["accepted"] = [*(accepted if isinstance(accepted, list) else []), entry]
        if check in (C.ENV_VARS, "all"):
            names = C.required_secrets(doc)
            if names:
                env = doc.setdefault("env", {})
                if isinstance(env, dict):
                    env["required_secrets"] = sorted(set(env.get("required_secrets", []) or []) | set(names))
        return doc

    ctx.store.update_doc(run, change, f"gitrun: accept {check} for {run.id}")


def _legacy_accept(ctx: Context, references: list[str], reason: str) -> tuple[list[str], str] | None:
    """``--accept RUN "REASON"`` (the older form): the value names a run and the one argument does not."""
    if len(references) != 1:
        return None
    try:
        ctx.store.resolve(reason)
    except GitrunError:
        return None
    try:
        ctx.store.resolve(references[0])
        return None
    except GitrunError:
        return [reason], references[0]


def check_command(references: list[str], accept: str | None = None, only: str | None = None,
                  where: str | None = None, fmt: str = "text") -> int:
    ctx = open_context()
    if only is not None and only not in C.CHECKS:
        raise UsageError(f"unknown check '{only}'", hint="one of " + ", ".join(C.CHECKS))
    if accept is not None:
        legacy = _legacy_accept(ctx, references, accept)
        if legacy is not None:
            references, accept = legacy
        if not references and where is None:
            raise UsageError("name the runs to accept",
                             hint='git run check --accept "REASON" RUN..., or with --where EXPR')
    runs = _chosen_runs(ctx, references, where)
    if accept is not None:
        for run in runs:
            accept_run(ctx, run, accept, only)
        what = f"run {runs[0].id} ({runs[0].name})" if len(runs) == 1 else f"{len(runs)} runs"
        print(f"gitrun: accepted {only or 'every check'} for {what}: {accept}")
        return 0
    if not runs:
        if fmt == "json":
            print_json({"checked": [], "passed": True, "findings": []})
        elif fmt == "text":
            print("gitrun: no runs to check")
        return 0
    return report(ctx, runs, only=only, fmt=fmt)


def _chosen_runs(ctx: Context, references: list[str], where: str | None) -> list[Run]:
    runs = [ctx.store.resolve(reference) for reference in references]
    if where is not None:
        selection = select_runs(ctx.store.list_runs(), ctx.repo, where=where, all_branches=True)
        if not selection.runs:
            why = f": {'; '.join(selection.notes)}" if selection.notes else ""
            raise UsageError(f"no runs match --where {where}{why}")
        runs += [run for run in selection.runs if run.id not in {chosen.id for chosen in runs}]
    return runs if references or where is not None else ctx.store.list_runs()
