"""``git run data ls`` and ``git run data diff RUN_A RUN_B``: the datasets runs used, and what changed."""

from __future__ import annotations

from typing import Any

from gitrun.commands.context import Context, open_context
from gitrun.commands.output import print_json, short_ids, table
from gitrun.errors import UsageError
from gitrun.model.datasets import FileEntry, decode_file_list, diff_file_lists, format_size
from gitrun.model.run import Run
from gitrun.store.commits import read_file
from gitrun.store.index import COLUMNS
from gitrun.store.spool import find_spool

DIFF_LINES = 100  # per dataset, in the text output (--json has every file)


def run_data(run: Run) -> list[dict[str, Any]]:
    value = run.doc.get("data", [])
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def dataset_label(entry: dict[str, Any]) -> str:
    name = str(entry.get("name") or "")
    return name or str(entry.get("path", "?"))


def _key(entry: dict[str, Any]) -> tuple[str, str]:
    name = str(entry.get("name") or "")
    return (name, "") if name else ("", str(entry.get("path", "")))


def ls_command(as_json: bool = False) -> int:
    ctx = open_context()
    runs = ctx.store.list_runs(COLUMNS + ":data")  # newest first, with their data sections
    rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for run in reversed(runs):  # oldest first, so "first seen" is kept for each version
        for entry in run_data(run):
            name, path = _key(entry)
            version = str(entry.get("version") or "")
            row_key = (name, path, version, str(entry.get("hash", "")))
            row = rows.get(row_key)
            if row is None:
                row = {
                    "name": name,
                    "version": version,
                    "path": str(entry.get("path", "")),
                    "hash": str(entry.get("hash", "")),
                    "size": entry.get("size"),
                    "files": entry.get("files"),
                    "location": entry.get("location", ""),
                    "declared": bool(entry.get("declared")),
                    "runs": [],
                }
                rows[row_key] = row
            row["declared"] = row["declared"] or bool(entry.get("declared"))
            row["path"] = str(entry.get("path", row["path"]))  # the latest path a name was read from
            row["location"] = entry.get("location", row["location"])
            row["runs"].append({"id": run.id, "name": run.name})
    ordered = sorted(rows.values(), key=lambda r: (r["name"] or r["path"], r["version"], r["runs"][0]["id"]))
    if as_json:
        print_json(ordered)
        return 0
    if not ordered:
        print("no datasets recorded yet (git run --data [NAME[:VERSION]=]PATH -- COMMAND)")
        return 0
    ids = short_ids(runs)
    table_rows = []
    for row in ordered:
        used = [ids.get(r["id"], r["id"][:8]) for r in row["runs"]]
        shown = ", ".join(used[-3:]) + (f" (+{len(used) - 3})" if len(used) > 3 else "")
        table_rows.append([
            row["name"] or "-", row["version"] or "-", row["path"], _short_hash(row["hash"]),
            format_size(int(row["size"] or 0)), str(row["files"] or 0), str(row["location"]),
            "declared" if row["declared"] else "detected", f"{len(used)}: {shown}",
        ])
    print(table(table_rows, ["dataset", "version", "path", "hash", "size", "files", "where", "how", "runs"]))
    return 0


def _short_hash(value: str) -> str:
    algorithm, _, digest = value.partition(":")
    return f"{algorithm}:{digest[:12]}" if digest else value


def file_list(ctx: Context, run: Run, entry: dict[str, Any]) -> list[FileEntry] | None:
    """The per-file list of a folder dataset (from the result tree, or the spool of a running run)."""
    listed = entry.get("list")
    if not isinstance(listed, str):
        return None
    data = read_file(ctx.repo, run.result_commit, listed)
    if data is None:
        spool = find_spool(ctx.paths, run.id)
        if spool is not None and spool.file(listed).is_file():
            data = spool.file(listed).read_bytes()
    return decode_file_list(data) if data is not None else None


def compare(ctx: Context, run_a: Run, run_b: Run, only: str | None = None) -> list[dict[str, Any]]:
    before = {_key(entry): entry for entry in run_data(run_a)}
    after = {_key(entry): entry for entry in run_data(run_b)}
    keys = sorted(set(before) | set(after))
    if only is not None:
        keys = [key for key in keys if only in (key[0], key[1]) or
                only in (str(before.get(key, {}).get("path")), str(after.get(key, {}).get("path")))]
        if not keys:
            raise UsageError(f"no dataset '{only}' in either run", hint="see `git run data ls`")
    results: list[dict[str, Any]] = []
    for key in keys:
        old, new = before.get(key), after.get(key)
        item: dict[str, Any] = {"dataset": key[0] or key[1], "name": key[0],
                                "path": str((new or old or {}).get("path", "")),
                                "a": _brief(old), "b": _brief(new)}
        if old is None or new is None:
            item["status"] = "added" if old is None else "removed"
        elif old.get("hash") == new.get("hash"):
            item["status"] = "unchanged"
        else:
            item["status"] = "changed"
            old_files, new_files = file_list(ctx, run_a, old), file_list(ctx, run_b, new)
            if old_files is not None and new_files is not None:
                diff = diff_file_lists(old_files, new_files)
                item.update(added=diff.added, removed=diff.removed, changed=diff.changed,
                            unchanged_files=diff.unchanged)
        results.append(item)
    return results


def _brief(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {key: entry[key] for key in ("path", "version", "hash", "size", "files", "location") if key in entry}


def diff_command(reference_a: str, reference_b: str, dataset: str | None = None, as_json: bool = False,
                 show_all: bool = False) -> int:
    ctx = open_context()
    run_a, run_b = ctx.store.resolve(reference_a), ctx.store.resolve(reference_b)
    results = compare(ctx, run_a, run_b, dataset)
    if as_json:
        print_json({"a": run_a.id, "b": run_b.id, "datasets": results})
        return 0
    if not results:
        print(f"neither {run_a.name or run_a.id} nor {run_b.name or run_b.id} recorded data inputs")
        return 0
    lines: list[str] = []
    for item in results:
        lines += _describe(item, show_all)
    print("\n".join(lines))
    return 0


def _describe(item: dict[str, Any], show_all: bool) -> list[str]:
    label = item["dataset"]
    old, new = item["a"] or {}, item["b"] or {}
    versions = ""
    if old.get("version") or new.get("version"):
        versions = f" {old.get('version') or '-'} -> {new.get('version') or '-'}"
    status = item["status"]
    if status == "added":
        return [f"{label}: only in B ({_short_hash(str(new.get('hash', '')))})"]
    if status == "removed":
        return [f"{label}: only in A ({_short_hash(str(old.get('hash', '')))})"]
    if status == "unchanged":
        return [f"{label}:{versions} unchanged ({_short_hash(str(new.get('hash', '')))})"]
    if "changed" not in item:
        return [f"{label}:{versions} changed: {_short_hash(str(old.get('hash', '')))} -> "
                f"{_short_hash(str(new.get('hash', '')))}"]
    changes = [("M", path) for path in item["changed"]] + [("A", path) for path in item["added"]] + \
        [("D", path) for path in item["removed"]]
    changes.sort(key=lambda change: change[1])
    lines = [f"{label}:{versions} {len(item['changed'])} changed, {len(item['added'])} added, "
             f"{len(item['removed'])} removed, {item['unchanged_files']} unchanged"]
    limit = len(changes) if show_all else DIFF_LINES
    lines += [f"  {mark} {path}" for mark, path in changes[:limit]]
    if len(changes) > limit:
        lines.append(f"  … and {len(changes) - limit} more (--all or --json for every file)")
    return lines


def data_summary(run: Run) -> dict[str, str]:
    """The ``data`` section of ``git run show``: one line per data input."""
    values: dict[str, str] = {}
    for entry in run_data(run):
        name = str(entry.get("name") or "")
        version = str(entry.get("version") or "")
        path = str(entry.get("path", "?"))
        label = f"{name}:{version}" if name and version else name
        key = f"{label} ({path})" if label else path
        files = int(entry.get("files") or 0)
        values[key] = (f"{_short_hash(str(entry.get('hash', '')))}  {format_size(int(entry.get('size') or 0))}"
                       f"{f', {files} files' if entry.get('list') else ''}, {entry.get('location', '?')}, "
                       f"{'declared' if entry.get('declared') else 'detected'}")
    return values
