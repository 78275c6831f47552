"""``git run diff A [B]``: what changed between two runs (or a run and some code), by section.

Sections: code, parameters, metrics, data, environment, hardware, command; each shows only what
differs unless ``--all``. A side may be a run, a branch/commit, or ``.`` (the working tree as it is
on disk, snapshotted the way a run would be); a name that is both a run and a branch means the run.
With one side, the other is the baseline run of the
run's branch (or the current branch) when one is marked, else the run's base commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pygit2

from gitrun.capture.code import snapshot_code
from gitrun.commands.context import Context, open_context
from gitrun.commands.output import fit, join_lines, output_width, print_json, table, truncate, wrap
from gitrun.commands.selection import baseline_of_branch, current_branch
from gitrun.errors import RunNotFound, StorageError, UsageError
from gitrun.model import compare
from gitrun.model.run import Run
from gitrun.store.git import run_git, run_git_on_terminal
from gitrun.store.index import COLUMNS

SECTIONS = ("code", "params", "metrics", "data", "environment", "hardware", "command")


@dataclass
class Side:
    kind: str  # "run" | "commit" | "worktree"
    label: str
    tree: str  # tree id (hex)
    commit: str | None = None  # the commit the tree belongs to (None for the working tree)
    run: Run | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "label": self.label, "tree": self.tree, "commit": self.commit}
        if self.run is not None:
            out.update(id=self.run.id, name=self.run.name, status=self.run.status, message=self.run.message,
                       tags=self.run.tags, branch=self.run.branch)
        return out


def _run_side(ctx: Context, run: Run) -> Side:
    commit = ctx.repo.get(run.snapshot_commit)
    if not isinstance(commit, pygit2.Commit):
        raise StorageError(f"the code of run {run.id[:10]} ({run.name}) is not in this repository",
                           hint="fetch it with `git run pull`")
    return Side("run", f"{run.id[:10]} ({run.name})", str(commit.tree_id), run.snapshot_commit, run)


def resolve_side(ctx: Context, text: str) -> Side:
    if text == ".":
        snapshot = snapshot_code(ctx.paths, ctx.settings)
        return Side("worktree", "working tree", str(snapshot.tree))
    try:
        return _run_side(ctx, ctx.store.resolve(text))
    except RunNotFound:
        pass
    try:
        obj = ctx.repo.revparse_single(text)
        commit = obj.peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        raise RunNotFound(f"'{text}' is not a run, a branch or a commit",
                          hint="give a run id/name, a branch, a commit, or . for the working tree")
    return Side("commit", f"{text} ({str(commit.id)[:10]})", str(commit.tree_id), str(commit.id))


def default_other(ctx: Context, side: Side) -> Side:
    """The side to compare ``side`` with when only one is given."""
    runs = ctx.store.list_runs(COLUMNS)  # baseline marks are typed columns of the index
    branches = [side.run.branch] if side.run is not None and side.run.branch else []
    branches.append(current_branch(ctx.repo))
    for branch in branches:
        baseline = baseline_of_branch(runs, branch)
        if baseline is not None and (side.run is None or baseline.id != side.run.id):
            other = _run_side(ctx, baseline)
            other.label += f" [baseline of {branch}]"
            return other
    if side.run is not None:
        base = str(side.run.git.get("base_commit") or "")
        if not base:
            raise UsageError("the run started on an unborn branch: it has no base commit to compare with",
                             hint="give a second run or commit")
        commit = ctx.repo.get(base)
        assert isinstance(commit, pygit2.Commit)
        return Side("commit", f"base commit {base[:10]}", str(commit.tree_id), base)
    return resolve_side(ctx, "HEAD")


def code_changes(ctx: Context, a: Side, b: Side) -> list[dict[str, Any]]:
    tree_a, tree_b = ctx.repo.get(a.tree), ctx.repo.get(b.tree)
    assert isinstance(tree_a, pygit2.Tree) and isinstance(tree_b, pygit2.Tree)
    diff = tree_a.diff_to_tree(tree_b)
    diff.find_similar()
    files = []
    names = {"A": "added", "D": "deleted", "M": "modified", "R": "renamed", "T": "typechange", "C": "copied"}
    for patch in diff:
        if patch is None:
            continue
        delta = patch.delta
        _context, additions, deletions = patch.line_stats
        entry: dict[str, Any] = {"path": delta.new_file.path, "status": names.get(delta.status_char(), "modified"),
                                 "additions": additions, "deletions": deletions,
                                 "binary": bool(delta.is_binary)}
        if delta.status_char() in ("R", "C"):
            entry["old_path"] = delta.old_file.path
        files.append(entry)
    return files


def compute(ctx: Context, a: Side, b: Side, show_all: bool, with_patch: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"a": a.describe(), "b": b.describe(), "all": show_all}
    files = code_changes(ctx, a, b)
    result["code"] = {"files": files, "same": not files}
    if with_patch:
        result["code"]["patch"] = run_git(["diff", "--no-color", "--no-ext-diff", a.tree, b.tree],
                                          ctx.paths.workdir).text
    if a.run is None or b.run is None:
        result["compared"] = ["code"]
        return result
    doc_a, doc_b = a.run.doc, b.run.doc
    overrides = ctx.settings.section("metrics").get("direction")
    overrides = overrides if isinstance(overrides, dict) else {}

    def keep(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return entries if show_all else [entry for entry in entries if not entry["same"]]

    params_a, params_b = doc_a.get("params"), doc_b.get("params")
    result["params"] = keep(compare.diff_flat(params_a if isinstance(params_a, dict) else {},
                                              params_b if isinstance(params_b, dict) else {}))
    metrics_a, metrics_b = doc_a.get("metrics"), doc_b.get("metrics")
    result["metrics"] = keep(compare.diff_metrics(metrics_a if isinstance(metrics_a, dict) else {},
                                                  metrics_b if isinstance(metrics_b, dict) else {}, overrides))
    result["data"] = keep(compare.diff_data(doc_a, doc_b))
    env = compare.diff_environment(doc_a, doc_b)
    env["general"] = keep(env["general"])
    env["packages"] = keep(env["packages"])
    if not show_all:
        env.pop("vars_same")
    result["environment"] = env
    result["hardware"] = keep(compare.diff_flat(compare.hardware_summary(doc_a), compare.hardware_summary(doc_b)))
    result["command"] = keep(compare.diff_flat(compare.command_summary(doc_a), compare.command_summary(doc_b)))
    result["compared"] = list(SECTIONS)
    return result


def diff_command(first: str | None = None, second: str | None = None, show_all: bool = False, code: bool = False,
                 as_json: bool = False) -> int:
    ctx = open_context()
    if first is None:  # like `git diff` without arguments: the latest change, here the two newest runs
        newest = ctx.store.run_ids()[:2]
        if len(newest) < 2:
            raise UsageError(f"there {'is one run' if newest else 'are no runs'}: nothing to compare it with",
                             hint="give a commit to compare with: git run diff RUN HEAD")
        first, second = newest[1], newest[0]
    a = resolve_side(ctx, first)
    if second is None:
        b = a
        a = default_other(ctx, b)
    else:
        b = resolve_side(ctx, second)
    result = compute(ctx, a, b, show_all, with_patch=code and as_json)
    if as_json:
        print_json(result)
        return 0
    print(render(result, output_width()))
    if code and result["code"]["files"]:
        print()
        run_git_on_terminal(["diff", a.tree, b.tree], ctx.paths.workdir)
    return 0


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(_value(item) for item in value)
    return str(value)


def _header(result: dict[str, Any]) -> list[str]:
    lines = []
    for key in ("a", "b"):
        side = result[key]
        extra = ""
        if side["kind"] == "run":
            extra = f"  {side['status']}  {side.get('branch') or '-'}"
            if side.get("tags"):
                extra += "  " + " ".join(f"[{tag}]" for tag in side["tags"])
            if side.get("message"):
                extra += f"  \"{truncate(side['message'], 50)}\""
        lines.append(f"{key.upper()}  {side['label']}{extra}")
    return lines


def _data_cells(entry: dict[str, Any], show_all: bool) -> list[str]:
    """Only the dataset fields that differ (all with --all); absent datasets as "-"."""
    a, b = entry["a"], entry["b"]
    if a is None or b is None:
        return [_value(a), _value(b)]
    keys = [key for key in ("version", "hash", "size", "files", "path") if key in a or key in b]
    if not show_all:
        keys = [key for key in keys if a.get(key) != b.get(key)] or keys[:1]
    return [", ".join(f"{key} {_value(side.get(key))}" for key in keys) for side in (a, b)]


def render(result: dict[str, Any], width: int | None = None) -> str:
    """The comparison as text; with ``width``, tables and lines are fitted to that many columns."""
    out = [fit(line, width) for line in _header(result)]
    files = result["code"]["files"]
    out.append("")
    if files:
        out.append(f"code: {len(files)} file{'s' if len(files) != 1 else ''} changed"
                   f" (--code for the patch)")
        letters = {"added": "A", "deleted": "D", "modified": "M", "renamed": "R", "typechange": "T", "copied": "C"}
        for item in files:
            name = f"{item['old_path']} -> {item['path']}" if "old_path" in item else item["path"]
            stats = "binary" if item["binary"] else f"+{item['additions']} -{item['deletions']}"
            out.append(fit(f"  {letters.get(item['status'], 'M')}  {name}  {stats}", width))
    else:
        out.append("same: code")
    if "params" not in result:
        other = "A" if result["a"]["kind"] != "run" else "B"
        what = {"worktree": "the working tree", "commit": "a commit"}[result[other.lower()]["kind"]]
        if not files:
            out[-1] = "code: same"
        out.append(f"\n(only code is compared: {other} is {what}, not a run)")
        return join_lines(out)
    show_all = result["all"]
    rows = [[e["key"], _value(e["a"]), _value(e["b"])] for e in result["params"]]
    out += _section("parameters", rows, ["name", "A", "B"], width)
    rows = []
    for entry in result["metrics"]:
        better = {"a": "A", "b": "B"}.get(entry["better"] or "", "")
        if not better and entry["direction"] and entry["delta"] == 0:
            better = "="
        direction = {"lower": "lower is better", "higher": "higher is better"}.get(entry["direction"] or "", "")
        rows.append([entry["key"], _value(entry["a"]), _value(entry["b"]), compare.format_delta(entry),
                     better, direction])
    out += _section("metrics", rows, ["name", "A", "B", "delta", "better", "direction"], width)
    rows = [[e["key"], *_data_cells(e, show_all)] for e in result["data"]]
    out += _section("data", rows, ["dataset", "A", "B"], width)
    env = result["environment"]
    rows = [[e["key"], _value(e["a"]), _value(e["b"])] for e in env["general"]]
    for entry in env["packages"]:
        label = "added" if entry["a"] is None else "removed" if entry["b"] is None else ""
        rows.append([f"package {entry['key']}", _value(entry["a"]), _value(entry["b"]) + (f"  ({label})"
                                                                                           if label else "")])
    if env["vars_added"] or env["vars_removed"]:
        rows.append(["env var names", "-" if not env["vars_removed"] else " ".join(env["vars_removed"]),
                     "-" if not env["vars_added"] else " ".join(env["vars_added"])])
    if show_all and env.get("vars_same"):
        rows.append(["env var names", f"{len(env['vars_same'])} in both (--json lists them)", ""])
    out += _section("environment", rows, ["field", "A", "B"], width)
    rows = [[e["key"], _value(e["a"]), _value(e["b"])] for e in result["hardware"]]
    out += _section("hardware", rows, ["field", "A", "B"], width)
    rows = [[e["key"], _value(e["a"]), _value(e["b"])] for e in result["command"]]
    out += _section("command", rows, ["field", "A", "B"], width)
    same = [line[len("same:"):] for line in out if line.startswith("same:")]
    out = [line for line in out if not line.startswith("same:")]
    if same:
        out += ["", *wrap("same in both:" + ",".join(same), width, "  ")]
    if not show_all:
        out.append("(only what differs is shown; --all shows everything)")
    return join_lines(line for index, line in enumerate(out) if line or index == 0 or out[index - 1])


def _section(title: str, rows: list[list[str]], headers: list[str], width: int | None) -> list[str]:
    if not rows:
        return [f"same: {title}"]
    body = table(rows, headers, None if width is None else width - 2)
    return ["", f"{title}:", *["  " + line for line in body.splitlines()]]
