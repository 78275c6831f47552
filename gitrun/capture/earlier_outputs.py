"""What earlier runs wrote into the working tree, so the next snapshot can leave it out.

A training script that writes event files or checkpoints into a folder ``.gitignore`` does not
cover would otherwise put them into the next run's code snapshot, and ``git run diff`` of two runs
of identical code would report binary "code" changes. Every run records its outputs (path, size,
BLAKE3 hash) in its note; this keeps a lookup of them in ``.git/gitrun/cache/earlier-outputs.json``:

* fast path (every snapshot): one ref read; when ``refs/notes/gitrun`` has not moved since the
  lookup was written, the file is used as it is;
* otherwise the notes of runs not yet in the lookup are read (usually the one or two runs since the
  last snapshot; every run on the first use), and the file is rewritten. Runs still going are read
  again later, once their outputs are known.

An untracked file is left out only when its path, size and content hash all match an earlier run's
output (the hash is computed only for a path and size that match). A deleted run's outputs stay in
the lookup: they were still written by gitrun-recorded runs, not by the user.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pygit2

from gitrun.store.git import RepoPaths
from gitrun.store.refs import NOTES_REF, read_ref
from gitrun.store.runs import RunStore

CACHE_NAME = "earlier-outputs.json"
_FORMAT = 1
MAX_VERSIONS_PER_PATH = 20  # the newest contents of one output path that are recognised
RUNNING = "running"

# path -> [[size, hash, run name], ...]
Lookup = dict[str, list[list[Any]]]


def _cache_path(paths: RepoPaths) -> Path:
    return paths.gitrun_dir / "cache" / CACHE_NAME


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("format") == _FORMAT else {}


def _save(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        pass  # a cache: the next snapshot tries again


def _add_outputs(lookup: Lookup, doc: dict[str, Any], name: str) -> None:
    outputs = doc.get("outputs")
    for entry in outputs if isinstance(outputs, list) else []:
        if not isinstance(entry, dict):
            continue
        path, size, content = entry.get("path"), entry.get("size"), entry.get("hash")
        if not isinstance(path, str) or not isinstance(size, int) or not isinstance(content, str):
            continue
        if path.startswith("/") or path.startswith("_external/"):
            continue  # outside the working tree: never in a snapshot
        versions = lookup.setdefault(path, [])
        if [size, content] not in [version[:2] for version in versions]:
            versions.append([size, content, name])
            del versions[:-MAX_VERSIONS_PER_PATH]


def earlier_outputs(paths: RepoPaths) -> Lookup:
    """path -> [[size, hash, run name], ...] of the outputs earlier runs wrote (never raises)."""
    try:
        repo = pygit2.Repository(str(paths.gitdir))
        tip = read_ref(repo, NOTES_REF)
    except (pygit2.GitError, KeyError, ValueError):
        return {}
    cache_file = _cache_path(paths)
    cached = _load(cache_file)
    lookup: Lookup = cached.get("outputs", {}) if isinstance(cached.get("outputs"), dict) else {}
    if tip is None or cached.get("notes") == str(tip):
        return lookup
    known = set(cached.get("runs", [])) if isinstance(cached.get("runs"), list) else set()
    store = RunStore(repo, paths)
    try:
        for run_id in store.run_ids():
            if run_id in known:
                continue
            run = store.get(run_id)
            if run.status == RUNNING:
                continue  # its outputs come when it ends: read it again then
            _add_outputs(lookup, run.doc, run.name or run_id[:10])
            known.add(run_id)
    except Exception:
        return lookup  # a broken note must not stop a recording
    _save(cache_file, {"format": _FORMAT, "notes": str(tip), "runs": sorted(known), "outputs": lookup,
                       "suggested": cached.get("suggested", [])})
    return lookup


def suggest_gitignore_once(paths: RepoPaths, excluded: list[str]) -> str | None:
    """A ``.gitignore`` line for the folder the left-out outputs are in, said once per line."""
    if not excluded:
        return None
    folders = {path.split("/", 1)[0] + ("/" if "/" in path else "") for path in excluded}
    line = "/" + sorted(folders, key=lambda folder: -sum(path.startswith(folder) for path in excluded))[0]
    cache_file = _cache_path(paths)
    cached = _load(cache_file)
    suggested = cached.get("suggested", []) if isinstance(cached.get("suggested"), list) else []
    if line in suggested or not cached:
        return None
    cached["suggested"] = [*suggested, line]
    _save(cache_file, cached)
    return line
