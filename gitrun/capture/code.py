"""Capture the code: the snapshot policy (secrets, size limit, .gitrunignore) and git context."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from stat import S_ISREG
from typing import Any

import pygit2

from gitrun.capture.earlier_outputs import Lookup, earlier_outputs, suggest_gitignore_once
from gitrun.capture.hashing import hash_file
from gitrun.model.captured import Captured
from gitrun.model.checks import EARLIER_OUTPUT
from gitrun.model.ignore import IgnoreRules
from gitrun.model.secrets import (
    SEGMENT_SEPARATOR,
    StreamScanner,
    is_secret_file_name,
    scan_chunks,
    secret_file_names,
    segments_to_scan,
    strip_url_credentials,
)
from gitrun.store.config import Settings
from gitrun.store.git import RepoPaths
from gitrun.store.snapshot import AcceptFiles, Candidate, Exclusion, SnapshotResult, take_snapshot

GITRUNIGNORE = ".gitrunignore"
READ_CHUNK = 1024 * 1024  # files are scanned for secrets in chunks of this size, whatever their size


def load_gitrunignore(workdir: Path) -> IgnoreRules:
    try:
        return IgnoreRules((workdir / GITRUNIGNORE).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return IgnoreRules("")


class ScanMemo:
    """What the secret scan found in large files, by (size, mtime, ctime, inode), so a changed large
    tracked file that stays as it is costs one scan, not one per run.

    Kept in ``<gitrun dir>/cache/secret-scan.json``. A file changed within ``RACY_NS`` of the scan
    is not remembered (its stat may not show a change made in the same instant), as git does.
    """

    FROM_BYTES = 8 * 1024 * 1024  # smaller files are scanned every time: it costs milliseconds
    RACY_NS = 2_000_000_000

    def __init__(self, cache_dir: Path | None) -> None:
        self.path = cache_dir / "secret-scan.json" if cache_dir is not None else None
        self._entries: dict[str, list[Any]] | None = None

    def _load(self) -> dict[str, list[Any]]:
        if self._entries is None:
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8")) if self.path else {}
                self._entries = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self._entries = {}
        return self._entries

    @staticmethod
    def _stamp(stat: os.stat_result) -> list[int]:
        return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]

    def known(self, path: str, stat: os.stat_result) -> tuple[bool, str | None]:
        """(True, kind or None) when the file was scanned as it is now; (False, None) otherwise."""
        if self.path is None or stat.st_size < self.FROM_BYTES:
            return False, None
        entry = self._load().get(path)
        if isinstance(entry, list) and len(entry) == 5 and entry[:4] == self._stamp(stat):
            return True, entry[4]
        return False, None

    def remember(self, path: str, stat: os.stat_result, kind: str | None) -> None:
        if self.path is None or stat.st_size < self.FROM_BYTES:
            return
        if time.time_ns() - max(stat.st_mtime_ns, stat.st_ctime_ns) < self.RACY_NS:
            return
        entries = self._load()
        entries[path] = [*self._stamp(stat), kind]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(entries), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache that cannot be written only costs a rescan


def make_policy(settings: Settings, extra_ignore: IgnoreRules, memo: ScanMemo | None = None,
                earlier: Lookup | None = None) -> SnapshotPolicy:
    """Decide, before anything is hashed, which changed files stay out of the snapshot."""
    return SnapshotPolicy(settings, extra_ignore, memo or ScanMemo(None), earlier or {})


class SnapshotPolicy:
    """The policy (``store.snapshot.Policy``): called once per changed path, after ``prepare`` was
    given the untracked ones, whose small files it reads and checks for secrets in batches."""

    BATCH_BYTES = 8 * 1024 * 1024  # small files joined for one clue search (segments_to_scan)
    SMALL_BYTES = 256 * 1024  # larger files are scanned one by one, streamed

    def __init__(self, settings: Settings, extra_ignore: IgnoreRules, memo: ScanMemo, earlier: Lookup) -> None:
        self.settings = settings
        self.extra_ignore = extra_ignore
        self.vouched = set(settings.include_secret_files)
        self.memo = memo
        self.earlier = earlier
        self._stats: dict[str, os.stat_result] = {}  # stat of the files ``prepare`` looked at
        self._kinds: dict[str, str | None] = {}  # what the batched scan found in each of them

    def prepare(self, workdir: Path, untracked: list[str], accept: AcceptFiles | None = None) -> None:
        """Read the small untracked regular files once and scan them for secrets, many at a time.

        With ``accept``, the files this decides to let in (every check of ``__call__`` passed) are
        handed over with the bytes that were scanned, so the snapshot stores exactly those bytes
        and never reads the file again; ``__call__`` is not asked about them. Without it, the
        verdicts wait for ``__call__``.
        """
        root = os.fsdecode(workdir).rstrip("/") + "/"
        limit = min(self.SMALL_BYTES, self.settings.max_untracked_bytes)
        secret_names = secret_file_names(untracked)
        ignore, earlier, vouched = self.extra_ignore or None, self.earlier, self.vouched
        batch = _Batch()
        for path in untracked:
            if (path in secret_names or path in earlier or path in vouched
                    or (ignore is not None and ignore.matches(path))):
                continue  # decided by ``__call__`` without this read
            try:  # no symlink followed, no FIFO waited for: those are looked at by ``__call__``
                handle = os.open(root + path, _OPEN_FLAGS)
            except OSError:
                continue
            try:
                stat = os.fstat(handle)
                content = os.read(handle, limit + 1) if S_ISREG(stat.st_mode) and stat.st_size <= limit else None
            except OSError:
                continue
            finally:
                os.close(handle)
            if content is None or len(content) != stat.st_size:
                continue  # not a small regular file, or changing while read: scanned on its own
            batch.paths.append(path)  # inline (not a method call): this loop runs once per untracked file
            batch.contents.append(content)
            batch.stats.append(stat)
            batch.starts.append(batch.size)
            batch.size += len(content) + _SEPARATOR_LENGTH
            if batch.size >= self.BATCH_BYTES:
                self._scan_batch(batch, accept)
                batch = _Batch()
        self._scan_batch(batch, accept)

    def _scan_batch(self, batch: _Batch, accept: AcceptFiles | None) -> None:
        if not batch.paths:
            return
        suspects = segments_to_scan(SEGMENT_SEPARATOR.join(batch.contents), batch.starts)
        kinds = {number: _text_secret(batch.contents[number]) for number in suspects}
        if accept is None:
            for number, path in enumerate(batch.paths):
                self._stats[path] = batch.stats[number]
                self._kinds[path] = kinds.get(number)
            return
        for number, kind in kinds.items():
            if kind:  # left out by ``__call__``, which names it
                self._stats[batch.paths[number]] = batch.stats[number]
                self._kinds[batch.paths[number]] = kind
        clean = [number for number in range(len(batch.paths)) if not kinds.get(number)]
        accept([batch.paths[number] for number in clean], [batch.contents[number] for number in clean],
               [batch.stats[number].st_mode for number in clean])

    def __call__(self, candidate: Candidate) -> Exclusion | None:
        path = candidate.path
        if self.extra_ignore and self.extra_ignore.matches(path):
            return Exclusion(path, "excluded by .gitrunignore")
        stat = self._stats.pop(path, None)
        if stat is None:
            try:
                stat = os.lstat(candidate.absolute)
            except OSError:
                return None  # gone or unreadable: the snapshot mechanics record it
        if candidate.untracked and path in self.earlier:
            found = _earlier_output(self.earlier[path], candidate.absolute, stat.st_size)
            if found is not None:
                return found_exclusion(path, stat.st_size, *found)
        if candidate.untracked and stat.st_size > self.settings.max_untracked_bytes:
            return Exclusion(path, f"untracked file larger than {self.settings.max_untracked_bytes} bytes",
                             size=stat.st_size, hash=_safe_hash(candidate.absolute))
        if path in self.vouched:
            return None
        name_reason = is_secret_file_name(path)
        if name_reason:
            return Exclusion(path, name_reason, size=stat.st_size)
        if path in self._kinds:
            kind = self._kinds.pop(path)
        else:
            known, kind = self.memo.known(path, stat)
            if not known:
                kind = _content_secret(candidate.absolute, stat.st_size)
                self.memo.remember(path, stat, kind)
        if kind:
            return Exclusion(path, f"content looks like a secret ({kind})", size=stat.st_size)
        return None


_SEPARATOR_LENGTH = len(SEGMENT_SEPARATOR)
# Read without following a symlink or waiting on a FIFO; what is not a regular file is left alone.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class _Batch:
    """Small files read for one clue search: their paths, bytes, stats and offsets in the joined bytes."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.contents: list[bytes] = []
        self.stats: list[os.stat_result] = []
        self.starts: list[int] = []
        self.size = 0  # the joined bytes' length: contents and one separator after each


def _earlier_output(versions: list[list[Any]], absolute: Path, size: int) -> tuple[str, str] | None:
    """(hash, run name) when the file is, byte for byte, what an earlier run wrote there."""
    if not any(version[0] == size for version in versions):
        return None  # the size differs: no need to read the file
    content = _safe_hash(absolute)
    if content is None:
        return None
    for version in versions:
        if version[0] == size and version[1] == content:
            return content, str(version[2])
    return None


def found_exclusion(path: str, size: int, content: str, run: str) -> Exclusion:
    return Exclusion(path, f"{EARLIER_OUTPUT} ({run})", size=size, hash=content)


def _safe_hash(path: Path) -> str | None:
    try:
        return hash_file(path)
    except OSError:
        return None


def _content_secret(path: Path, size: int) -> str | None:
    """The kind of the first secret in the file, read in chunks (a 2 GiB file costs no memory)."""
    if not path.is_file() or path.is_symlink():
        return None
    scanner = StreamScanner()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(READ_CHUNK):
                scanner.feed(chunk)
                if scanner.found:
                    return scanner.found[0][1]
    except OSError:
        return None
    found = scanner.close()
    return found[0][1] if found else None


def _text_secret(content: bytes) -> str | None:
    """The kind of the first secret in a small file's bytes (as ``_content_secret`` reads them)."""
    found = scan_chunks([content])
    return found[0][1] if found else None


def snapshot_code(paths: RepoPaths, settings: Settings) -> SnapshotResult:
    memo = ScanMemo(paths.gitrun_dir / "cache")
    policy = make_policy(settings, load_gitrunignore(paths.workdir), memo, earlier_outputs(paths))
    result = take_snapshot(paths, policy)
    outputs = [item.path for item in result.excluded if item.reason.startswith(EARLIER_OUTPUT)]
    line = suggest_gitignore_once(paths, outputs)
    if line:
        result.warnings.append(f"{len(outputs)} file(s) earlier runs wrote are left out of the snapshot; to keep "
                               f"them out of git status too, add this line to .gitignore: {line}")
    return result


def git_context(repo: pygit2.Repository, snapshot: SnapshotResult) -> Captured:
    """The ``git`` section: where the run's code came from."""
    captured = Captured()
    data: dict[str, Any] = captured.data
    data["base_commit"] = str(snapshot.base_commit) if snapshot.base_commit else ""
    data["unborn"] = snapshot.base_commit is None
    data["detached"] = bool(repo.head_is_detached)
    data["branch"] = _branch_name(repo)
    data["shallow"] = bool(repo.is_shallow)
    upstream, remote_name = _upstream(repo, data["branch"])
    if upstream:
        data["upstream"] = upstream
    chosen, url = _remote_url(repo, remote_name)
    if url:
        data["remote"] = chosen
        data["remote_url"] = url
    data["dirty"] = snapshot.dirty
    data["modified"] = snapshot.modified
    data["untracked"] = snapshot.untracked
    data["added"] = snapshot.added
    data["deleted"] = snapshot.deleted
    if snapshot.submodules:
        data["submodules"] = [
            {**sub, "url": strip_url_credentials(str(sub["url"]))} if "url" in sub else sub
            for sub in snapshot.submodules
        ]
    return captured


def _branch_name(repo: pygit2.Repository) -> str:
    if repo.head_is_detached:
        return ""
    try:
        target = repo.references["HEAD"].target
    except (KeyError, pygit2.GitError):
        return ""
    name = str(target)
    return name.removeprefix("refs/heads/")


def _upstream(repo: pygit2.Repository, branch: str) -> tuple[str, str | None]:
    if not branch:
        return "", None
    try:
        local = repo.branches.local.get(branch)
        upstream = local.upstream if local is not None else None
    except (pygit2.GitError, KeyError, ValueError):
        return "", None
    if upstream is None:
        return "", None
    name = upstream.shorthand
    remote = upstream.remote_name if hasattr(upstream, "remote_name") else name.split("/", 1)[0]
    return name, remote


def _remote_url(repo: pygit2.Repository, remote_name: str | None) -> tuple[str, str]:
    """The remote the branch tracks, else ``origin``, else the first one; its URL without credentials."""
    names = [str(remote.name) for remote in repo.remotes]
    chosen = remote_name if remote_name in names else ("origin" if "origin" in names else (names[0] if names else ""))
    if not chosen:
        return "", ""
    return chosen, strip_url_credentials(repo.remotes[chosen].url or "")
