"""``git run reproduce RUN``: run it again from what was recorded, and say whether the numbers came back.

1. pre-checks (``reproduce_checks``), reported before anything runs;
2. ``--env venv``: the recorded packages rebuilt in a cached virtual environment (``runner/venv.py``);
3. the run's command at its snapshot, ``--repeat N`` times, through ``run_job`` (each new run
   linked ``reproduces = <RUN>``);
4. the verdict (``gitrun.model.reproduce``): exact, within tolerance, diverged (with the table of
   differences and the likely causes), or not rebuildable; stored in RUN's note (``reproduced_by``).

Exit status: 0 exact or within tolerance, 1 diverged, 3 not rebuildable, 130 stopped (no verdict stored).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from gitrun.commands.context import Context, open_context
from gitrun.commands.output import print_json, table
from gitrun.commands.reproduce_checks import gather_findings
from gitrun.errors import GitrunError, UsageError
from gitrun.model import reproduce as model
from gitrun.model.job import JobSpec, inputs_to_link, spec_from_run
from gitrun.model.run import Run
from gitrun.model.terminal import printable
from gitrun.model.timefmt import to_iso, utc_now
from gitrun.runner.recorder import current_user
from gitrun.runner.replay import run_job
from gitrun.runner.venv import NotRebuildable, build_venv
from gitrun.store.commits import changed_paths

EXIT_DIVERGED = 1
EXIT_NOT_REBUILDABLE = 3


def reproduce_command(reference: str, *, into: Path | None = None, env_mode: str = "current",
                      tolerances: Sequence[str] = (), repeat: int = 1, find_links: Sequence[str] = (),
                      no_index: bool = False, quiet: bool = False, as_json: bool = False) -> int:
    asked = dict(model.parse_tolerance(text) for text in tolerances)  # refused before anything runs
    if repeat < 1:
        raise UsageError(f"--repeat {repeat}: give at least 1")
    if env_mode not in ("current", "venv"):
        raise UsageError(f"--env {env_mode}: should be current or venv")
    ctx = open_context()
    run = ctx.store.get(ctx.store.resolve(reference).id)
    if run.status == "running":
        raise UsageError(f"run {run.name or run.id[:10]} is still running", hint="reproduce it once it has ended")
    chosen = {**configured_tolerances(ctx, run), **asked}
    say = _Say(quiet or as_json)
    say(f"reproducing {run.id[:10]} ({printable(run.name)}): {printable(' '.join(run.command))}")

    env: dict[str, str] | None = None
    not_rebuilt: list[str] = []
    if env_mode == "venv":
        try:
            build = build_venv(_table(run.doc, "env"), find_links=find_links, no_index=no_index, say=say)
        except NotRebuildable as err:
            return _not_rebuildable(ctx, run, err.one_line(), as_json, say)
        not_rebuilt = build.not_rebuilt
        say(f"environment: {build.root} ({'cached' if build.cached else 'built with ' + build.tool})")
        for item in not_rebuilt:
            say(f"warning: cannot be rebuilt, left out: {printable(item)}")
        env = build.environment(os.environ)

    findings = gather_findings(ctx, run, env if env is not None else dict(os.environ))
    _print_findings(findings, say)

    spec = spec_from_run(run, links={"reproduces": run.id}, env=env_mode,  # type: ignore[arg-type]
                         message=f"reproduce {run.name or run.id[:10]}")
    news: list[Run] = []
    with _stdout_on_stderr(as_json):  # --json: stdout holds the report alone, the runs print on stderr
        news = _run_all(ctx, run, spec, repeat, into, env, quiet or as_json, say)


    comparisons = [model.compare_runs(run.doc, new.doc, chosen) for new in news]
    verdict = model.overall_verdict([c.verdict for c in comparisons])
    causes = model.likely_causes(findings, run.doc, [n.doc for n in news], not_rebuilt,
                                 code_changes(ctx, run, news)) if verdict == model.DIVERGED else []
    spreads = model.spread(run.doc, [n.doc for n in news]) if repeat > 1 else []
    worst = max(comparisons, key=lambda c: model.VERDICTS.index(c.verdict))
    _store_verdict(ctx, run, verdict, [n.id for n in news], env_mode, len(worst.differences))
    if as_json:
        print_json(_as_json(run, news, verdict, comparisons, findings, causes, spreads, chosen))
    else:
        _print_verdict(run, news, verdict, worst, causes, spreads, comparisons)
    return 0 if verdict in model.PASSING else EXIT_DIVERGED


def code_changes(ctx: Context, run: Run, news: Sequence[Run]) -> list[str]:
    """Files whose content differs between RUN's snapshot and any new run's (none: the same code ran)."""
    changed: list[str] = []
    for new in news:
        changed += [path for path in changed_paths(ctx.repo, run.snapshot_commit, new.snapshot_commit)
                    if path not in changed]
    return changed


def _run_all(ctx: Context, run: Run, spec: JobSpec, repeat: int, into: Path | None, env: dict[str, str] | None,
             quiet: bool, say: _Say) -> list[Run]:
    news: list[Run] = []
    for attempt in range(repeat):
        where = into if into is None or repeat == 1 else into / str(attempt + 1)
        if repeat > 1:
            say(f"repeat {attempt + 1} of {repeat}")
        result = run_job(spec, ctx.paths.workdir, into=where, env=env, link_inputs=inputs_to_link(run.doc),
                         quiet=quiet, launched_by="git run reproduce")
        news.append(ctx.store.get(result.run_id))
        if result.status in ("interrupted", "killed"):  # stopped by the user: no verdict to give
            raise ReproductionStopped(f"reproduction stopped: run {result.run_id[:10]} was {result.status}; "
                                      "no verdict stored", hint=f"`git run reproduce {run.id[:10]}` starts again")
    return news


class ReproductionStopped(GitrunError):
    """Ctrl-C or SIGTERM stopped a reproduction's run."""

    exit_code = 130


@contextlib.contextmanager
def _stdout_on_stderr(active: bool) -> Iterator[None]:
    """Point file descriptor 1 at stderr for a while (the child writes to the descriptor itself)."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


class _Say:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, text: str) -> None:
        if not self.quiet:
            print(f"gitrun: {text}", file=sys.stderr, flush=True)


def _table(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def configured_tolerances(ctx: Context, run: Run) -> dict[str, model.Tolerance]:
    """``[tool.gitrun.reproduce] tolerance``, then the run's recorded ``tolerance`` table over it."""
    settings = model.tolerances_from_table(ctx.settings.section("reproduce").get("tolerance"),
                                           "[tool.gitrun.reproduce] tolerance")
    try:
        recorded = model.tolerances_from_table(run.doc.get("tolerance"), "the run's tolerance")
    except UsageError as err:  # a teammate's note: say so, never fail on it
        print(f"gitrun: warning: {err.one_line()}; ignored", file=sys.stderr)
        recorded = {}
    return {**settings, **recorded}


def _print_findings(findings: Sequence[model.Finding], say: _Say) -> None:
    if say.quiet:
        return
    rows = [(f.area, printable(f.subject), f.status, printable(f.recorded), printable(f.now))
            for f in findings if f.differs or f.area in ("python", "data")]
    equal = sum(1 for f in findings if not f.differs)
    say(f"pre-checks: {len(findings) - equal} difference(s), {equal} equal")
    if rows:
        print(table(rows, ["check", "what", "status", "recorded", "here"]), file=sys.stderr, flush=True)


def _print_verdict(run: Run, news: Sequence[Run], verdict: str, worst: model.Comparison,
                   causes: Sequence[model.Cause], spreads: Sequence[model.Spread],
                   comparisons: Sequence[model.Comparison]) -> None:
    ids = ", ".join(f"{n.id[:10]} ({printable(n.name)})" for n in news)
    print(f"verdict: {verdict.upper()}: {run.id[:10]} ({printable(run.name)}) reproduced by {ids}")
    print(f"compared {worst.compared_metrics} metric(s) and {worst.compared_outputs} output(s)")
    if len(comparisons) > 1:
        counts = {v: sum(1 for c in comparisons if c.verdict == v) for v in model.VERDICTS}
        print("repeats: " + ", ".join(f"{count} {v}" for v, count in counts.items() if count))
    if worst.differences:
        rows = [(d.kind, printable(d.name), printable(d.original), printable(d.new), d.delta, d.tolerance,
                 "yes" if d.ok else "no") for d in worst.differences]
        print(table(rows, ["what", "name", "original", "new", "difference", "tolerance", "within"]))
    if spreads:
        rows2 = [(printable(s.metric), "" if s.original is None else f"{s.original:.6g}", f"{s.low:.6g}",
                  f"{s.high:.6g}", f"{s.stdev:.3g}", f"{s.max_deviation:.3g}") for s in spreads]
        print("run-to-run spread:")
        print(table(rows2, ["metric", "original", "min", "max", "stdev", "max |new - original|"]))
    if causes:
        print("likely causes, most likely first:")
        for number, cause in enumerate(causes, start=1):
            print(f"  {number}. {cause.area}: {printable(cause.text)}")


def _as_json(run: Run, news: Sequence[Run], verdict: str, comparisons: Sequence[model.Comparison],
             findings: Sequence[model.Finding], causes: Sequence[model.Cause], spreads: Sequence[model.Spread],
             tolerances: Mapping[str, model.Tolerance]) -> dict[str, Any]:
    return {
        "run": run.id, "verdict": verdict, "runs": [n.id for n in news],
        "verdicts": [c.verdict for c in comparisons],
        "differences": [[vars(d) for d in c.differences] for c in comparisons],
        "prechecks": [vars(f) for f in findings],
        "causes": [vars(c) for c in causes],
        "spread": [vars(s) for s in spreads],
        "tolerances": {name: vars(t) for name, t in tolerances.items()},
    }


def _store_verdict(ctx: Context, run: Run, verdict: str, run_ids: Sequence[str], env_mode: str,
                   differences: int, reason: str = "") -> None:
    record = model.verdict_record(verdict, run_ids, env_mode, to_iso(utc_now()), current_user(),
                                  socket.gethostname(), differences, reason)

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        kept = [item for item in doc.get("reproduced_by") or () if isinstance(item, dict)]
        doc["reproduced_by"] = [*kept, record]
        return doc

    ctx.store.update_doc(run, change, f"gitrun: reproduced {run.id} ({verdict})")


def _not_rebuildable(ctx: Context, run: Run, reason: str, as_json: bool, say: _Say) -> int:
    _store_verdict(ctx, run, model.NOT_REBUILDABLE, [], "venv", 0, reason)
    if as_json:
        print_json({"run": run.id, "verdict": model.NOT_REBUILDABLE, "reason": reason, "runs": []})
    else:
        print(f"verdict: NOT REBUILDABLE: {run.id[:10]} ({printable(run.name)}): {printable(reason)}")
    return EXIT_NOT_REBUILDABLE
