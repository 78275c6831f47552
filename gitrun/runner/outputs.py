"""Outputs of a recording: the start listing, and the result contributor that finds and stores them.

``prepare`` writes the spool's ``outputs-start.json``: the watched paths, and the marker whose
change time starts the run's clock (see ``gitrun.capture.outputs``); paths on another filesystem are
listed there too. When the run is stored (normally right after the child ends; for a crashed run,
when the next gitrun command recovers it) the paths are listed; new and changed files are hashed, and those up
to ``output_store_limit`` (default 1 MiB; at most ``outputs_store_total``, default 64 MiB, per run)
are stored at ``outputs/<path>`` in the result tree. Files logged with ``gitrun.log_artifact``
are added (their copy was taken when they were logged).

Settings (``[tool.gitrun]``): ``output_store_limit``, ``outputs_store_total``,
``outputs_exclude`` (glob patterns), ``outputs`` (paths watched by default).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gitrun.capture.hashing import hash_bytes, hash_file
from gitrun.capture.outputs import Listing, changed_files, same_device, scan
from gitrun.model.timefmt import to_iso
from gitrun.runner.ending import Ending
from gitrun.runner.extensions import RecordExtension
from gitrun.store.config import Settings, parse_size
from gitrun.store.jsonl import ARTIFACTS_FILE, OUTPUTS_START_FILE, read_records
from gitrun.store.spool import Spool
from gitrun.store.trees import TreeContent

DEFAULT_STORE_LIMIT = 1024 * 1024
DEFAULT_STORE_TOTAL = 64 * 1024 * 1024
OUTPUTS_DIR = "outputs/"
EXTERNAL_DIR = "_external/"


def store_limits(settings: Settings) -> tuple[int, int]:
    limit = DEFAULT_STORE_LIMIT
    total = DEFAULT_STORE_TOTAL
    try:
        if "output_store_limit" in settings.raw:
            limit = parse_size(settings.raw["output_store_limit"], "output_store_limit")
        if "outputs_store_total" in settings.raw:
            total = parse_size(settings.raw["outputs_store_total"], "outputs_store_total")
    except Exception:
        pass
    return limit, total


def stored_path(path: str) -> str:
    """Where an output's content lives in the result tree."""
    if os.path.isabs(path):
        return OUTPUTS_DIR + EXTERNAL_DIR + path.lstrip("/")
    return OUTPUTS_DIR + path


def _iso_from_ns(mtime_ns: int) -> str:
    from datetime import UTC, datetime

    return to_iso(datetime.fromtimestamp(mtime_ns / 1e9, UTC))


class OutputsExtension(RecordExtension):
    def prepare(self) -> None:
        rec = self.rec
        root = rec.paths.workdir
        given = list(rec.options.get("outputs_paths") or ())
        if not given:
            configured = rec.settings.raw.get("outputs", [])
            given = [str(p) for p in configured] if isinstance(configured, list) else []
            base = root
        else:
            base = rec.cwd
        watch = [str(Path(p) if os.path.isabs(p) else (base / p)) for p in given] or [str(root)]
        exclude_raw = rec.settings.raw.get("outputs_exclude", [])
        exclude = [str(p) for p in exclude_raw] if isinstance(exclude_raw, list) else []
        clocked, listed = same_device(watch, rec.spool.path)
        listing = scan(root, [Path(p) for p in listed], exclude) if listed else None
        limit, total = store_limits(rec.settings)
        spec = {"root": str(root), "watch": clocked, "exclude": exclude, "limit": limit, "total": total,
                "listed_watch": listed, "truncated": bool(listing and listing.truncated),
                "listed": listing.files if listing else {}}
        path = rec.spool.file(OUTPUTS_START_FILE)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(spec, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)  # its ctime is now the run's start on the filesystem's own clock

    def child_env(self, env: dict[str, str]) -> None:
        limit, _ = store_limits(self.rec.settings)
        env["GITRUN_OUTPUT_STORE_LIMIT"] = str(limit)


def outputs_result(spool: Spool, ending: Ending) -> tuple[dict[str, TreeContent], dict[str, Any]]:
    try:
        spec = json.loads(spool.file(OUTPUTS_START_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        spec = None
    files: dict[str, TreeContent] = {}
    entries: list[dict[str, Any]] = []
    updates: dict[str, Any] = {}
    limit = int(spec.get("limit", DEFAULT_STORE_LIMIT)) if spec else DEFAULT_STORE_LIMIT
    budget = int(spec.get("total", DEFAULT_STORE_TOTAL)) if spec else DEFAULT_STORE_TOTAL
    if spec:
        root, changed, truncated = _changed(spool, spec)
        _FOUND[str(spool.path)] = (root, changed)
        for relative in changed:
            absolute = Path(relative) if os.path.isabs(relative) else root / relative
            entry, content = _describe(absolute, relative, limit, budget)
            if entry is None:
                continue
            if content is not None:
                files[stored_path(relative)] = content
                budget -= len(content)
            entries.append(entry)
        if spec.get("truncated") or truncated:
            updates["missing"] = {"outputs": "the watched paths hold too many files; outputs were only "
                                             "looked for among the first 200000 (narrow with --outputs)"}
    for artifact in read_records(spool.file(ARTIFACTS_FILE)):
        entry, content = _artifact(spool, artifact)
        if entry is None:
            continue
        entries = [e for e in entries if e["path"] != entry["path"]]
        if content is not None:
            files[stored_path(entry["path"])] = content
        entries.append(entry)
    if entries or spec:
        updates["outputs"] = sorted(entries, key=lambda e: str(e["path"]))
    return files, updates


def _changed(spool: Spool, spec: dict[str, Any]) -> tuple[Path, list[str], bool]:
    """(root, the paths changed while the run ran, sorted, relative to root or absolute outside it,
    whether the listing was cut short)."""
    root = Path(spec["root"])
    exclude = spec.get("exclude", [])
    try:
        started_ns = spool.file(OUTPUTS_START_FILE).stat().st_ctime_ns
    except OSError:
        started_ns = 0
    clocked = scan(root, [Path(p) for p in spec["watch"]], exclude, changed_since_ns=started_ns) \
        if spec.get("watch") else Listing()
    listed = scan(root, [Path(p) for p in spec.get("listed_watch", [])], exclude) \
        if spec.get("listed_watch") else Listing()
    changed = set(clocked.files) | set(changed_files(spec.get("listed", {}), listed.files))
    return root, sorted(changed), clocked.truncated or listed.truncated


# The outputs listing of a run being stored, for the contributors after this one (TensorBoard):
# one listing per run, not one per feature.
_FOUND: dict[str, tuple[Path, list[str]]] = {}


def found_outputs(spool: Spool) -> tuple[Path | None, list[Path]]:
    """The root and the absolute paths of the files the run wrote (its outputs, as listed when it is
    stored; listed here if the outputs contributor has not run)."""
    found = _FOUND.pop(str(spool.path), None)
    if found is None:
        try:
            spec = json.loads(spool.file(OUTPUTS_START_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None, []
        root, changed, _ = _changed(spool, spec)
    else:
        root, changed = found
    return root, [Path(path) if os.path.isabs(path) else root / path for path in changed]


def _describe(path: Path, relative: str, limit: int, budget: int) -> tuple[dict[str, Any] | None, bytes | None]:
    try:
        info = path.stat()
        entry: dict[str, Any] = {"path": relative, "size": info.st_size, "mtime": _iso_from_ns(info.st_mtime_ns)}
        if info.st_size <= limit and info.st_size <= budget:
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
            if len(data) <= limit and len(data) <= budget:
                entry.update(size=len(data), hash=hash_bytes(data), stored=True)
                return entry, data
        entry.update(hash=hash_file(path), stored=False)
        entry["not_stored"] = (f"larger than the {limit}-byte store limit" if info.st_size > limit
                               else "the run's outputs store budget is spent")
        return entry, None
    except OSError:
        return None, None  # deleted again before the run ended, or unreadable


def _artifact(spool: Spool, artifact: dict[str, Any]) -> tuple[dict[str, Any] | None, bytes | None]:
    path = artifact.get("path")
    if not isinstance(path, str):
        return None, None
    entry: dict[str, Any] = {key: artifact[key] for key in ("path", "size", "hash", "mtime") if key in artifact}
    entry["artifact"] = True
    copy = artifact.get("copy")
    if isinstance(copy, str):
        try:
            data = spool.file(copy).read_bytes()
        except OSError:
            data = None
        if data is not None:
            entry["stored"] = True
            return entry, data
    entry["stored"] = False
    entry.setdefault("not_stored", "larger than the store limit")
    return entry, None
