"""Hash datasets (files and folders) fast, remember file hashes across runs, say where data lives.

* Files are hashed with BLAKE3 on a thread pool (blake3 releases the GIL), small files with one
  reused buffer per thread, large ones memory-mapped with blake3's own threads.
* A stat cache (``<common git dir>/gitrun/cache/data-hashes.json``) maps an absolute path to
  ``[inode, size, mtime_ns, ctime_ns, hash]``; a file whose four stat values are unchanged is not
  read again. Entries for files modified less than ``RACY_SECONDS`` before they were hashed are not
  cached (a write in the same timestamp tick could go unseen, git's "racy clean" problem). The
  file is rewritten atomically (temporary file + rename) and only when something changed; losing
  it costs one re-read, never a wrong hash.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat as stat_module
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import blake3

from gitrun.model.datasets import HASH_PREFIX, DatasetHash, FileEntry, dataset_from_entries

CACHE_NAME = "data-hashes.json"
CACHE_VERSION = 2
RACY_SECONDS = 2.0
SMALL_FILE = 8 * 1024 * 1024  # below: read through a reused buffer; above: mmap
MMAP_THREADED = 64 * 1024 * 1024  # above: blake3 hashes one file with several threads
BUFFER = 1024 * 1024
BATCH_BYTES = 32 * 1024 * 1024  # work items for the pool: this many bytes or BATCH_FILES files
BATCH_FILES = 256

_local = threading.local()


class HashStats:
    """How much work a hashing call did (the tests prove "not re-read" with it)."""

    def __init__(self) -> None:
        self.files_read = 0
        self.bytes_read = 0
        self.cache_hits = 0
        self.uncached = 0  # files hashed but too recently modified to be cached
        self._lock = threading.Lock()

    def add(self, files: int, size: int) -> None:
        with self._lock:
            self.files_read += files
            self.bytes_read += size


def _buffer() -> memoryview:
    buf = getattr(_local, "buf", None)
    if buf is None:
        buf = memoryview(bytearray(BUFFER))
        _local.buf = buf
    return buf


def hash_one(path: str, size: int) -> str:
    """``blake3:<hex>`` of one file, choosing the fastest way for its size."""
    if size >= SMALL_FILE:
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO if size >= MMAP_THREADED else 1)
        hasher.update_mmap(path)
        return HASH_PREFIX + hasher.hexdigest()
    hasher = blake3.blake3()
    buf = _buffer()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        while True:
            count = os.readv(fd, [buf])
            if not count:
                break
            hasher.update(buf[:count])
    finally:
        os.close(fd)
    return HASH_PREFIX + hasher.hexdigest()


# --- the stat cache --------------------------------------------------------------------------------

Key = tuple[int, int, int, int]


def stat_key(st: os.stat_result) -> Key:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class StatCache:
    """``absolute path -> "inode size mtime_ns ctime_ns blake3:<hex>"``, persisted as JSON (one string
    per file: about three times faster to load than a list per file)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, str] = {}
        self.folders: dict[str, str] = {}  # folder -> "signature hash size files" (see hash_path)
        self.dirty = False
        self._lock = threading.Lock()
        if path is not None:
            with contextlib.suppress(OSError, ValueError):
                data = json.loads(path.read_bytes())
                if isinstance(data, dict) and data.get("version") == CACHE_VERSION:
                    entries, folders = data.get("files"), data.get("folders")
                    if isinstance(entries, dict):
                        self.entries = entries
                    if isinstance(folders, dict):
                        self.folders = folders

    @classmethod
    def for_dir(cls, cache_dir: Path | None) -> StatCache:
        return cls(cache_dir / CACHE_NAME if cache_dir is not None else None)

    def lookup(self, path: str, key: Key) -> str | None:
        entry = self.entries.get(path)
        if entry is None:
            return None
        prefix = f"{key[0]} {key[1]} {key[2]} {key[3]} "
        return entry[len(prefix):] if entry.startswith(prefix) else None

    def store(self, path: str, key: Key, file_hash: str, hashed_at: float) -> bool:
        if hashed_at - key[2] / 1e9 < RACY_SECONDS or hashed_at - key[3] / 1e9 < RACY_SECONDS:
            return False  # modified too recently to trust its timestamps
        with self._lock:
            self.entries[path] = f"{key[0]} {key[1]} {key[2]} {key[3]} {file_hash}"
            self.dirty = True
        return True

    # A folder's summary: when a re-run finds exactly the same files with the same stat values (the
    # signature), the folder's hash and per-file list are taken as they are, with no per-file work.

    def _lists(self) -> Path | None:
        return self.path.parent / "data-lists" if self.path is not None else None

    def folder(self, folder: str, signature: str) -> DatasetHash | None:
        parts = self.folders.get(folder, "").split(" ")
        lists = self._lists()
        if len(parts) != 4 or parts[0] != signature or lists is None:
            return None
        try:
            listing = (lists / (parts[1].partition(":")[2] + ".tsv")).read_bytes()
            return DatasetHash(hash=parts[1], size=int(parts[2]), files=int(parts[3]), is_dir=True,
                               listing=listing)
        except (OSError, ValueError):
            return None

    def remember_folder(self, folder: str, signature: str, result: DatasetHash) -> None:
        lists = self._lists()
        if lists is None:
            return
        with contextlib.suppress(OSError):
            lists.mkdir(parents=True, exist_ok=True)
            target = lists / (result.hash.partition(":")[2] + ".tsv")
            if not target.exists():
                _write_atomically(target, result.file_list())
            previous = self.folders.get(folder, "").split(" ")
            self.folders[folder] = f"{signature} {result.hash} {result.size} {result.files}"
            self.dirty = True
            if len(previous) == 4 and previous[1] != result.hash and not any(
                    value.split(" ")[1] == previous[1] for value in self.folders.values()):
                (lists / (previous[1].partition(":")[2] + ".tsv")).unlink(missing_ok=True)

    def forget_below(self, folder: str, keep: set[str]) -> None:
        """Drop entries of files below ``folder`` that are gone (not in ``keep``)."""
        prefix = folder.rstrip("/") + "/"
        stale = [path for path in self.entries if path.startswith(prefix) and path not in keep]
        for path in stale:
            del self.entries[path]
        self.dirty = self.dirty or bool(stale)

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".data-hashes-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
                    json.dump({"version": CACHE_VERSION, "files": self.entries, "folders": self.folders},
                              handle, separators=(",", ":"))
                os.replace(tmp, self.path)
                self.dirty = False
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# --- walking and hashing -----------------------------------------------------------------------------

Found = tuple[str, str, Key]  # (absolute path, "/"-separated path relative to the root, stat key)


def walk_files(root: str) -> list[Found]:
    """Every regular file below ``root`` (symlinks followed, each real folder visited once).

    One ``stat`` per file and nothing else (``d_type`` tells folders from files): on a re-run over a
    cached tree these calls are the work. (A thread pool for them measured no faster: the Python
    around each call, not the call, is the cost.)"""
    found: list[Found] = []
    seen_dirs: set[tuple[int, int]] = set()
    root_stat = os.stat(root)
    seen_dirs.add((root_stat.st_dev, root_stat.st_ino))
    pending: list[tuple[str, str]] = [(root, "")]
    is_reg = stat_module.S_ISREG
    while pending:
        folder, rel = pending.pop()
        prefix = rel + "/" if rel else ""
        try:
            iterator = os.scandir(folder)
        except OSError:
            continue
        with iterator:
            for item in iterator:
                try:
                    if item.is_dir():
                        if item.name == ".git":
                            continue  # a clone's repository: git's own bookkeeping, not the data
                        st = item.stat()
                        ident = (st.st_dev, st.st_ino)
                        if ident not in seen_dirs:
                            seen_dirs.add(ident)
                            pending.append((item.path, prefix + item.name))
                        continue
                    st = item.stat()
                except OSError:
                    continue  # broken symlink, vanished file
                if is_reg(st.st_mode):
                    found.append((item.path, prefix + item.name,
                                  (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)))
    return found


def _workers() -> int:
    return max(2, min(16, (os.cpu_count() or 2) * 2))


Announce = Callable[[int, int], None]  # (files, bytes) about to be read


def hash_files(files: Sequence[tuple[str, Key]], cache: StatCache, stats: HashStats | None = None,
               opener: Callable[[str, int], str] = hash_one, announce: Announce | None = None) -> dict[str, str]:
    """``{absolute path: hash}`` for files whose stat key is known, reading only cache misses."""
    stats = stats or HashStats()
    result: dict[str, str] = {}
    todo: list[tuple[str, Key]] = []
    for path, key in files:
        cached = cache.lookup(path, key)
        if cached is not None:
            result[path] = cached
            stats.cache_hits += 1
        else:
            todo.append((path, key))
    if not todo:
        return result
    if announce is not None:
        announce(len(todo), sum(key[1] for _, key in todo))
    hashed_at = time.time()
    large = [item for item in todo if item[1][1] >= MMAP_THREADED]
    small = [item for item in todo if item[1][1] < MMAP_THREADED]

    def work(batch: list[tuple[str, Key]]) -> list[tuple[str, Key, str]]:
        done = []
        for path, key in batch:
            done.append((path, key, opener(path, key[1])))
        stats.add(len(batch), sum(key[1] for _, key in batch))
        return done

    batches: list[list[tuple[str, Key]]] = []
    current: list[tuple[str, Key]] = []
    current_bytes = 0
    for item in small:
        current.append(item)
        current_bytes += item[1][1]
        if len(current) >= BATCH_FILES or current_bytes >= BATCH_BYTES:
            batches.append(current)
            current, current_bytes = [], 0
    if current:
        batches.append(current)
    outcomes: list[tuple[str, Key, str]] = []
    if len(batches) == 1 and not large:
        outcomes = work(batches[0])
    elif batches:
        from concurrent.futures import ThreadPoolExecutor  # with logging, ~4 ms: only when hashing

        with ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="gitrun-hash") as pool:
            for done in pool.map(work, batches):
                outcomes.extend(done)
    for item in large:  # one at a time: blake3 already uses every core on each
        outcomes.extend(work([item]))
    for path, key, file_hash in outcomes:
        result[path] = file_hash
        if not cache.store(path, key, file_hash, hashed_at):
            stats.uncached += 1
    return result


def hash_path(path: str | Path, cache: StatCache, stats: HashStats | None = None,
              announce: Announce | None = None) -> DatasetHash:
    """Hash a file or a folder (raises OSError when it cannot be read)."""
    absolute = os.path.abspath(os.fspath(path))
    st = os.stat(absolute)
    if stat_module.S_ISDIR(st.st_mode):
        stats = stats if stats is not None else HashStats()
        files = walk_files(absolute)
        # Same files with the same (inode, size, mtime, ctime) as when the summary was stored: same
        # hash and list, without a lookup per file (the walk's stat calls are then all the work).
        signature = blake3.blake3(repr(files).encode("utf-8", "surrogateescape")).hexdigest()[:32]
        summary = cache.folder(absolute, signature)
        if summary is not None:
            stats.cache_hits += len(files)
            return summary
        uncached_before = stats.uncached
        hashes = hash_files([(path, key) for path, _, key in files], cache, stats, announce=announce)
        if len(hashes) != len(cache.entries):
            cache.forget_below(absolute, set(hashes))
        result = dataset_from_entries([FileEntry(rel, key[1], hashes[path]) for path, rel, key in files])
        if stats.uncached == uncached_before:  # every file's hash is trusted: so is the folder's
            cache.remember_folder(absolute, signature, result)
        return result
    key = stat_key(st)
    file_hash = hash_files([(absolute, key)], cache, stats, announce=announce)[absolute]
    return DatasetHash(hash=file_hash, size=key[1], files=1, is_dir=False)


def hash_file_group(root: str, absolutes: Iterable[str], cache: StatCache,
                    stats: HashStats | None = None) -> DatasetHash:
    """Hash some files below ``root`` as one folder-like dataset (detected inputs grouped by folder)."""
    files: list[Found] = []
    for absolute in absolutes:
        with contextlib.suppress(OSError):
            st = os.stat(absolute)
            if stat_module.S_ISREG(st.st_mode):
                files.append((absolute, os.path.relpath(absolute, root).replace(os.sep, "/"), stat_key(st)))
    hashes = hash_files([(path, key) for path, _, key in files], cache, stats)
    return dataset_from_entries([FileEntry(rel, key[1], hashes[path]) for path, rel, key in files])


# --- where data lives ----------------------------------------------------------------------------

def is_below(path: str, folder: str) -> bool:
    folder = folder.rstrip("/") or "/"
    return path == folder or path.startswith(folder if folder == "/" else folder + "/")


def local_remotes(data_remotes: Iterable[Any], workdir: Path) -> list[str]:
    """The ``data_remotes`` entries that are local folders (URLs such as ``s3://`` never match a
    local path: list the folder where such a store is mounted)."""
    found: list[str] = []
    for item in data_remotes:
        # a table names where a remote store is mounted: { url = "s3://bucket/x", path = "/mnt/s3/x" }
        text = str(item.get("path", "")) if isinstance(item, dict) else str(item)
        if "://" in text or not text.strip():
            continue
        expanded = os.path.expanduser(text)
        if not os.path.isabs(expanded):
            expanded = os.path.join(workdir, expanded)
        found.append(os.path.normpath(expanded))
        with contextlib.suppress(OSError):
            found.append(os.path.realpath(expanded))
    return sorted(set(found))


class DvcIndex:
    """Which repository paths DVC tracks: a ``<path>.dvc`` file beside them or a ``dvc.lock`` output."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._known: dict[str, bool] = {}
        self._lock_outs: set[str] | None = None

    def _outs(self) -> set[str]:
        if self._lock_outs is None:
            self._lock_outs = set()
            with contextlib.suppress(OSError):
                text = (self.workdir / "dvc.lock").read_text(encoding="utf-8", errors="replace")
                for line in text.splitlines():
                    stripped = line.strip().removeprefix("- ")
                    if stripped.startswith("path:"):
                        self._lock_outs.add(stripped[5:].strip().strip("'\"").rstrip("/"))
        return self._lock_outs

    def tracked(self, relpath: str) -> bool:
        """Is ``relpath`` or a folder above it tracked by DVC?"""
        if relpath in self._known:
            return self._known[relpath]
        parent, _, _ = relpath.rpartition("/")
        found = (self.workdir / (relpath + ".dvc")).is_file() or relpath in self._outs() or (
            bool(parent) and self.tracked(parent))
        self._known[relpath] = found
        return found


# Worst first: a dataset whose files live in several kinds of places takes the first kind that
# applies to any of its files (a folder with one ignored file is "ignored": that file exists only here).
_PRECEDENCE = ("ignored", "outside", "lfs", "dvc", "shared", "snapshot")


class Locator:
    """Says where data lives: ``snapshot`` (stored in the run's code commit), ``ignored`` (inside the
    repository but not in the snapshot), ``outside`` (outside the repository), ``shared`` (below a
    ``data_remotes`` folder), ``lfs`` (a Git LFS file), ``dvc`` (tracked by DVC)."""

    def __init__(self, workdir: Path, in_snapshot: Callable[[str], bool],
                 is_lfs: Callable[[str], bool] = lambda rel: False, remotes: Sequence[str] = ()) -> None:
        self.workdir = str(workdir)
        self.in_snapshot = in_snapshot
        self.is_lfs = is_lfs
        self.remotes = list(remotes)
        self.dvc = DvcIndex(Path(workdir))

    def display_path(self, absolute: str) -> str:
        """Repository-relative inside the repository (``.`` for its root), absolute outside."""
        if is_below(absolute, self.workdir):
            return os.path.relpath(absolute, self.workdir).replace(os.sep, "/")
        return absolute

    def repo_relative(self, absolute: str) -> str | None:
        """The real path relative to the working tree ("" for its root); None outside it or in .git."""
        real = os.path.realpath(absolute)
        if not is_below(real, self.workdir):
            return None
        if real == self.workdir:
            return ""
        rel = os.path.relpath(real, self.workdir).replace(os.sep, "/")
        return None if rel == ".git" or rel.startswith(".git/") else rel

    def locate(self, absolute: str, relpaths: Iterable[str] | None = None) -> str:
        """Where the file or folder at ``absolute`` lives; ``relpaths``: a folder's files."""
        real = os.path.realpath(absolute)
        if any(is_below(absolute, r) or is_below(real, r) for r in self.remotes):
            return "shared"
        rel = self.repo_relative(absolute)
        if rel is None:
            return "outside"
        if rel and self.dvc.tracked(rel):
            return "dvc"
        members: Iterable[str] = [rel] if relpaths is None else (
            f"{rel}/{item}" if rel else item for item in relpaths)
        kinds = set()
        for member in members:
            if not self.in_snapshot(member):
                kinds.add("ignored")
                break  # the worst kind: no need to look further
            kinds.add("lfs" if self.is_lfs(member) else "snapshot")
        # an empty folder inside the repository: nothing of it is in the snapshot
        return next((kind for kind in _PRECEDENCE if kind in kinds), "ignored")
