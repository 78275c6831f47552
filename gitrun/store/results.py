"""Reading a run's result tree for display: console log, metric series, outputs, code changes.

Everything returned is plain Python data (str, lists, dataclasses), so a terminal UI can call these
from a worker thread and never hold a pygit2 object. A running run is read from its live spool
(the same files ``git run show`` reads), a finished one from its result commit.

Large data is never loaded whole for display: a log is read from its tail, a series is reduced to
min/max per bucket while it is parsed (``gitrun.model.downsample``), a code diff is capped.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import pygit2

from gitrun.model import status as statuses
from gitrun.model.downsample import Series, minmax_buckets
from gitrun.model.run import Run
from gitrun.model.series import METRICS_DIR, SYSTEM_PREFIX, name_from_path
from gitrun.store.git import RepoPaths
from gitrun.store.jsonl import METRICS_FILE, read_records
from gitrun.store.live_tail import live_series_of
from gitrun.store.spool import OUTPUT_LOG, find_spool
from gitrun.store.trees import read_blob_at, walk_tree

LOG_TAIL_BYTES = 2 * 1024 * 1024  # what a log view shows at most (the stored log may be 16 MiB)
DIFF_CAP_BYTES = 4 * 1024 * 1024
X_COLUMNS = {"step": 0, "time": 1}


@dataclass(frozen=True)
class LogText:
    text: str
    size: int  # bytes of the whole log
    shown_from: int  # byte offset the text starts at (0: the whole log)
    live: bool  # read from a running run's spool


@dataclass(frozen=True)
class CodeDiff:
    base: str  # the base commit ("" on an unborn branch)
    files: list[tuple[str, str, int, int]]  # (status letter, path, additions, deletions)
    patch: str
    truncated: bool


class ResultReader:
    """Result-tree reads for one repository; safe to call from one worker thread at a time.

    Parsed, downsampled series are cached by (blob id, buckets, x): a stored series never changes,
    so redrawing a chart after a resize or a tab switch costs nothing.
    """

    def __init__(self, repo: pygit2.Repository, paths: RepoPaths, cache_size: int = 64) -> None:
        self.repo = repo
        self.paths = paths
        self.lock = threading.RLock()
        self._cache: OrderedDict[tuple[str, int, str], Series] = OrderedDict()
        self._cache_size = cache_size

    # --- logs -------------------------------------------------------------------------------------

    def log(self, run: Run, tail_bytes: int = LOG_TAIL_BYTES) -> LogText:
        """The console output's last ``tail_bytes`` (the spool's while the run is going)."""
        spool = find_spool(self.paths, run.id)
        if spool is not None and spool.file(OUTPUT_LOG).exists():
            path = spool.file(OUTPUT_LOG)
            try:
                with open(path, "rb") as handle:
                    size = handle.seek(0, 2)
                    start = max(0, size - tail_bytes)
                    handle.seek(start)
                    data = handle.read()
            except OSError:
                data, size, start = b"", 0, 0
            return LogText(_decode_from(data, start), size, start, live=True)
        with self.lock:
            tree = self._result_tree(run)
            stored = str(run.section("log").get("path", "logs/output.log"))
            data = (read_blob_at(self.repo, tree, stored) or b"") if tree is not None else b""
        start = max(0, len(data) - tail_bytes)
        return LogText(_decode_from(data[start:], start), len(data), start, live=False)

    # --- series -----------------------------------------------------------------------------------

    def series_names(self, run: Run, include_system: bool = True) -> list[str]:
        """Names of the run's series, without reading any of them (a running run: its spool)."""
        live = self.live_series(run)
        if live is not None:
            names = list(live)
        else:
            with self.lock:
                names = list(self._stored_series_blobs(run))
        return sorted(name for name in names if include_system or not name.startswith(SYSTEM_PREFIX))

    def series(self, run: Run, name: str, buckets: int = 200, x: str = "step") -> Series:
        """One series reduced to at most ``2 * buckets`` points (min and max per bucket)."""
        column = X_COLUMNS[x]
        live = self.live_series(run)
        if live is not None:
            points = live.get(name, [])
            return minmax_buckets([p[column] for p in points], [p[2] for p in points], buckets, name)
        with self.lock:
            blob_id = self._stored_series_blobs(run).get(name)
            if blob_id is None:
                return Series(name)
            key = (blob_id, buckets, x)
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            blob = self.repo.get(blob_id)
            data = blob.data if isinstance(blob, pygit2.Blob) else b""
        xs, ys = parse_series_columns(data, column)
        result = minmax_buckets(xs, ys, buckets, name)
        with self.lock:
            self._cache[key] = result
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result

    def live_series(self, run: Run) -> dict[str, list[tuple[int, float, float]]] | None:
        if run.status != statuses.RUNNING:
            return None
        spool = find_spool(self.paths, run.id)
        if spool is None:
            return None
        return live_series_of(list(read_records(spool.file(METRICS_FILE))))

    def _stored_series_blobs(self, run: Run) -> dict[str, str]:
        tree = self._result_tree(run)
        if tree is None or METRICS_DIR.rstrip("/") not in tree:
            return {}
        sub = self.repo.get(tree[METRICS_DIR.rstrip("/")].id)
        if not isinstance(sub, pygit2.Tree):
            return {}
        out: dict[str, str] = {}
        for path, entry in walk_tree(self.repo, sub, METRICS_DIR):
            name = name_from_path(path)
            if name is not None:
                out[name] = str(entry.id)
        return out

    # --- outputs and code -------------------------------------------------------------------------

    def outputs(self, run: Run) -> list[dict[str, Any]]:
        """The note's ``outputs`` entries (path, size, hash, stored, ...), sorted by path."""
        items = run.doc.get("outputs")
        if not isinstance(items, list):
            return []
        return sorted((dict(item) for item in items if isinstance(item, dict)), key=lambda item: str(item.get("path")))

    def code_diff(self, run: Run, cap_bytes: int = DIFF_CAP_BYTES) -> CodeDiff:
        """The snapshot's changes against the commit the run started from, as a unified patch."""
        with self.lock:
            snapshot = self.repo.get(run.snapshot_commit)
            if not isinstance(snapshot, pygit2.Commit):
                return CodeDiff("", [], "", False)
            base_id = str(run.git.get("base_commit") or "") or (
                str(snapshot.parent_ids[0]) if snapshot.parent_ids else "")
            base = self.repo.get(base_id) if base_id else None
            if isinstance(base, pygit2.Commit):
                diff = base.tree.diff_to_tree(snapshot.tree)
            else:
                diff = snapshot.tree.diff_to_tree(swap=True)  # unborn branch: everything is added
            return _code_diff(diff, base_id, cap_bytes)

    def snapshot_diff(self, a: Run, b: Run, cap_bytes: int = DIFF_CAP_BYTES) -> CodeDiff:
        """The code of run ``b`` against the code of run ``a`` (what ``git run diff A B --code`` shows)."""
        with self.lock:
            one, two = self.repo.get(a.snapshot_commit), self.repo.get(b.snapshot_commit)
            if not isinstance(one, pygit2.Commit) or not isinstance(two, pygit2.Commit):
                return CodeDiff("", [], "", False)
            return _code_diff(one.tree.diff_to_tree(two.tree), a.snapshot_commit, cap_bytes)

    def _result_tree(self, run: Run) -> pygit2.Tree | None:
        commit = self.repo.get(run.result_commit)
        return commit.tree if isinstance(commit, pygit2.Commit) else None


def _code_diff(diff: pygit2.Diff, base: str, cap_bytes: int) -> CodeDiff:
    diff.find_similar()
    files: list[tuple[str, str, int, int]] = []
    parts: list[str] = []
    size = 0
    truncated = False
    for patch in diff:
        if patch is None:
            continue
        delta = patch.delta
        _context, additions, deletions = patch.line_stats
        files.append((delta.status_char(), delta.new_file.path, additions, deletions))
        if truncated:
            continue
        text = patch.text or ""
        if size + len(text) > cap_bytes:
            truncated = True
            continue
        parts.append(text)
        size += len(text)
    return CodeDiff(base, files, "".join(parts), truncated)


def parse_series_columns(data: bytes, x_column: int = 0) -> tuple[list[float], list[float]]:
    """(x, value) columns of a ``metrics/<name>.tsv`` blob; malformed lines are skipped."""
    xs: list[float] = []
    ys: list[float] = []
    add_x, add_y = xs.append, ys.append
    for line in data.split(b"\n"):
        parts = line.split(b"\t")
        if len(parts) != 3:
            continue
        try:
            x, y = float(parts[x_column]), float(parts[2])
        except ValueError:
            continue  # the header, or a damaged line
        add_x(x)
        add_y(y)
    return xs, ys


def _decode_from(data: bytes, start: int) -> str:
    text = data.decode("utf-8", "replace")
    if start > 0:  # began mid-line (and maybe mid-character): drop the partial first line
        _, _, text = text.partition("\n")
    return text
