"""Data inputs of a run: datasets declared with ``--data`` and files a Python child read.

* Declared data is hashed in ``prepare()``, before the start note and before the child starts, so
  the start note already has ``data`` and the hash is of the data as it was when the run began (a
  run that writes into its data folder cannot change what was recorded). With the stat cache a
  re-run over unchanged data costs a ``stat`` per file; only the first run over a large dataset
  pays for reading it, at disk speed.
* Detected data: the startup hook (``gitrun/capture/startup/_gitrun_files.py``) spools the paths a
  Python child opened for reading; the result contributor filters them (interpreter, virtual
  environment, caches, system folders, code, the snapshot's own files, files the run wrote),
  hashes the rest after the run, and groups files by folder when more than ``GROUP_THRESHOLD``
  share one.

Everything the contributor needs is in the spool (``data/context.json`` and the per-file lists), so
a crashed run finalised later by another gitrun process gets its data inputs too.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pygit2

from gitrun.capture.datasets import (
    HashStats,
    Key,
    Locator,
    StatCache,
    hash_file_group,
    hash_path,
    local_remotes,
    stat_key,
)
from gitrun.errors import UsageError
from gitrun.model.datasets import (
    DatasetHash,
    DataSpec,
    format_size,
    group_by_folder,
    parse_data_spec,
    skip_reason,
)
from gitrun.runner.ending import Ending
from gitrun.runner.extensions import RecordExtension, Recording
from gitrun.runner.startup_hook import add_startup_hook
from gitrun.store.git import fresh_repository
from gitrun.store.refs import read_ref, run_ref
from gitrun.store.spool import Spool
from gitrun.store.trees import TreeContent

SPOOL_DIR = "data"
CONTEXT_FILE = "data/context.json"
OPENED_FILE = "opened.jsonl"
GROUP_THRESHOLD = 20
NOTICE_BYTES = 512 * 1024**2  # this much data not in the stat cache: say that hashing it may take a while
REPORT_SECONDS = 2.0  # hashing a declared dataset that took longer is reported on stderr


def list_path(index: int) -> str:
    """Where the per-file list of ``data[index]`` lives, in the result tree and in the spool."""
    return f"data/{index}.tsv"


def make_entry(locator: Locator, absolute: str, hashed: DatasetHash, spec: DataSpec | None,
               index: int, location: str | None = None) -> dict[str, Any]:
    if location is None:
        location = locator.locate(absolute, hashed.relpaths() if hashed.is_dir else None)
    entry: dict[str, Any] = {
        "path": locator.display_path(absolute),
        "name": spec.name if spec else "",
        "version": spec.version if spec else "",
        "hash": hashed.hash,
        "size": hashed.size,
        "files": hashed.files,
        "location": location,
        "declared": spec is not None,
    }
    if hashed.is_dir:
        entry["list"] = list_path(index)
    return entry


def _repo_locator(repo: pygit2.Repository, workdir: Path, remotes: list[str],
                  in_snapshot: Any) -> Locator:
    def is_lfs(rel: str) -> bool:
        try:
            return repo.get_attr(rel, "filter") == "lfs"
        except (pygit2.GitError, ValueError):
            return False

    return Locator(workdir, in_snapshot, is_lfs, remotes)


class DataExtension(RecordExtension):
    """Hashes ``--data`` datasets before the run starts."""

    def __init__(self, rec: Recording) -> None:
        super().__init__(rec)
        self.specs: list[tuple[DataSpec, str]] = []
        for text in rec.options.get("data_specs") or ():
            spec = parse_data_spec(str(text))
            absolute = os.path.abspath(os.path.join(rec.cwd, os.path.expanduser(spec.path)))
            if not os.path.exists(absolute):
                # Refuse before the run exists: a typo in --data must not produce a run without its data.
                rec.spool.remove()
                raise UsageError(f"--data {text}: no such file or folder: {absolute}",
                                 hint="give an existing file or folder, e.g. --data imagenet:v3=data/imagenet")
            self.specs.append((spec, absolute))

    def prepare(self) -> None:
        rec = self.rec
        remotes = local_remotes(_as_list(rec.settings.raw.get("data_remotes")), rec.paths.workdir)
        context: dict[str, Any] = {
            "workdir": str(rec.paths.workdir),
            "gitdir": str(rec.paths.gitdir),
            "commondir": str(rec.paths.commondir),
            "remotes": remotes,
            "started_ns": time.time_ns(),
            "declared": [],
            "declared_paths": [],
        }
        (rec.spool.path / SPOOL_DIR).mkdir(exist_ok=True)
        if self.specs:
            context["declared"], context["declared_paths"] = self._hash_declared(remotes)
            rec.doc["data"] = context["declared"]
        _write_json(rec.spool.path / CONTEXT_FILE, context)

    def child_env(self, env: dict[str, str]) -> None:
        if not self.rec.options.get("no_autolog"):
            add_startup_hook(env)  # loads _gitrun_files.py in Python children (idempotent)

    def _hash_declared(self, remotes: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
        rec = self.rec
        repo = fresh_repository(rec.paths)
        excluded = {str(item.get("path")) for item in rec.doc.get("snapshot", {}).get("excluded", [])
                    if isinstance(item, dict)}
        index = repo.index

        def in_snapshot(rel: str) -> bool:
            # what the snapshot holds: tracked files and untracked ones that are not ignored, less exclusions
            if not rel or rel in excluded:
                return False
            try:
                return rel in index or not repo.path_is_ignored(rel)
            except (pygit2.GitError, ValueError):
                return False

        locator = _repo_locator(repo, rec.paths.workdir, remotes, in_snapshot)
        cache = StatCache.for_dir(rec.paths.gitrun_dir / "cache")
        entries: list[dict[str, Any]] = []
        absolutes: list[str] = []
        for spec, absolute in self.specs:
            stats = HashStats()
            began = time.monotonic()
            def announce(files: int, size: int, spec: DataSpec = spec) -> None:
                if size >= NOTICE_BYTES:
                    plural = "s" if files != 1 else ""
                    print(f"gitrun: hashing {spec.path}: {files} file{plural}, {format_size(size)} not seen "
                          "before (later runs use the cache)", file=sys.stderr, flush=True)

            try:
                hashed = hash_path(absolute, cache, stats, announce)
            except OSError as err:
                rec.doc.setdefault("missing", {})[f"data.{spec.path}"] = f"could not be hashed: {err}"
                continue
            entry = make_entry(locator, absolute, hashed, spec, len(entries))
            elapsed = time.monotonic() - began
            if os.environ.get("GITRUN_DEBUG") or elapsed > REPORT_SECONDS:
                label = spec.name + (f":{spec.version}" if spec.version else "") + "=" if spec.name else ""
                print(f"gitrun: data {label}{entry['path']}: {hashed.files} files, {format_size(hashed.size)}, "
                      f"{hashed.hash[:19]}, {entry['location']} ({stats.files_read} read, "
                      f"{stats.cache_hits} from the cache, {elapsed:.2f} s)", file=sys.stderr, flush=True)
            if hashed.is_dir:
                (rec.spool.path / list_path(len(entries))).write_bytes(hashed.file_list())
            entries.append(entry)
            absolutes.append(absolute)
        cache.save()
        return entries, absolutes


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    return [value] if isinstance(value, str) else []


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8", errors="surrogateescape")
    os.replace(tmp, path)


# --- the result contributor ---------------------------------------------------------------------------

def read_opened(spool: Spool) -> tuple[list[str], list[str]]:
    """The paths the child opened for reading, and the folders its interpreters said to skip."""
    paths: list[str] = []
    skip: set[str] = set()
    seen: set[str] = set()
    try:
        data = spool.file(OPENED_FILE).read_bytes()
    except OSError:
        return [], []
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut short by a kill
        if not isinstance(record, dict):
            continue
        if isinstance(record.get("path"), str) and record["path"] not in seen:
            seen.add(record["path"])
            paths.append(record["path"])
        interpreter = record.get("interpreter")
        if isinstance(interpreter, dict):
            skip.update(str(item) for item in interpreter.get("skip", []) if isinstance(item, str))
    return paths, sorted(skip)


def skip_folders(context: dict[str, Any], interpreter_skip: list[str]) -> list[str]:
    home = os.path.expanduser("~")
    folders = [*interpreter_skip, os.path.join(home, ".cache"), os.path.join(home, ".local", "lib"),
               str(context.get("commondir", "")), str(context.get("gitdir", ""))]
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX", "XDG_CACHE_HOME", "PIP_CACHE_DIR"):
        if os.environ.get(var):
            folders.append(os.environ[var])
    folders += [str(item) for item in context.get("declared_paths", [])]  # recorded already
    return [folder for folder in folders if folder]


def _snapshot_tree(context: dict[str, Any], run_id: str) -> tuple[pygit2.Repository, pygit2.Tree | None]:
    repo = pygit2.Repository(str(context["gitdir"]))
    target = read_ref(repo, run_ref(run_id))
    if target is None:
        return repo, None
    commit = repo.get(target)
    if not isinstance(commit, pygit2.Commit) or not commit.parents:
        return repo, None
    return repo, commit.parents[0].tree


def detect(spool: Spool, context: dict[str, Any], first_index: int,
           files: dict[str, TreeContent]) -> list[dict[str, Any]]:
    opened, interpreter_skip = read_opened(spool)
    if not opened:
        return []
    folders = skip_folders(context, interpreter_skip)
    started_ns = int(context.get("started_ns", 0))
    workdir = Path(str(context["workdir"]))
    repo, tree = _snapshot_tree(context, spool.run_id)

    def in_snapshot(rel: str) -> bool:
        if tree is None:
            return False
        try:
            tree[rel]
        except KeyError:
            return False
        return True

    locator = _repo_locator(repo, workdir, list(context.get("remotes", [])), in_snapshot)
    candidates: dict[str, str] = {}  # absolute -> location
    candidate_keys: dict[str, Key] = {}
    for path in opened:
        if skip_reason(path, folders) is not None:
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue  # gone (a temporary file) or unreadable
        if not os.path.isfile(path) or st.st_mtime_ns >= started_ns:
            continue  # not a regular file, or written during the run: an output, not an input
        location = locator.locate(path)
        if location == "snapshot":
            continue  # code and small files stored in the snapshot commit already
        candidates[path] = location
        candidate_keys[path] = stat_key(st)
    by_location: dict[str, list[str]] = {}
    for path, location in candidates.items():
        by_location.setdefault(location, []).append(path)
    cache = StatCache.for_dir(Path(str(context["commondir"])) / "gitrun" / "cache")
    stats = HashStats()
    unread = sum(key[1] for path, key in candidate_keys.items() if cache.lookup(path, key) is None)
    if unread >= NOTICE_BYTES:
        print(f"gitrun: hashing {format_size(unread)} of data the run read ({len(candidates)} files; "
              "cached for later runs)", file=sys.stderr, flush=True)
    entries: list[dict[str, Any]] = []
    home = os.path.expanduser("~")
    for location in sorted(by_location):
        groups = group_by_folder(by_location[location], GROUP_THRESHOLD, stops=[str(workdir), home])
        for key in sorted(groups):
            members = groups[key]
            with contextlib.suppress(OSError):
                if len(members) == 1 and members[0] == key:
                    hashed = hash_path(key, cache, stats)
                else:
                    hashed = hash_file_group(key, members, cache, stats)
                index = first_index + len(entries)
                entry = make_entry(locator, key, hashed, None, index, location)
                if hashed.is_dir:
                    files[list_path(index)] = hashed.file_list()
                entries.append(entry)
    cache.save()
    return entries


def data_result(spool: Spool, ending: Ending) -> tuple[dict[str, TreeContent], dict[str, Any]]:
    """Result contributor: per-file lists into ``data/``, and the run's ``data`` list."""
    try:
        context = json.loads(spool.file(CONTEXT_FILE).read_text(encoding="utf-8", errors="surrogateescape"))
    except (OSError, ValueError):
        return {}, {}
    declared = [dict(entry) for entry in context.get("declared", []) if isinstance(entry, dict)]
    files: dict[str, TreeContent] = {}
    for entry in declared:
        listed = entry.get("list")
        if isinstance(listed, str):
            with contextlib.suppress(OSError):
                files[listed] = spool.file(listed).read_bytes()
    detected = detect(spool, context, len(declared), files)
    entries = declared + detected
    return files, ({"data": entries} if entries else {})
