"""Outputs of a run: the files it created or changed, found from stat data alone.

The watched paths (the whole working tree by default, ignored folders included, because models
usually live there) are listed with stat data only: no file is read. A file is an output when its
change time (ctime, which every write, create, rename or copy sets and no program can set back) is
not older than a marker file gitrun writes just before the child starts: one listing at the end
suffices. Where that clock cannot be trusted (a watched path on another filesystem, e.g. a network
mount whose server sets the times) the path is listed at the start too and compared by size and
mtime. Only outputs are read (hashed, and stored when small).

Never listed: ``.git`` folders, virtual environments (folders holding ``pyvenv.cfg``), caches
(``__pycache__``, ``.mypy_cache``, ``.pytest_cache``, ``.ruff_cache``, ``.tox``, ``.nox``,
``node_modules``, ``.ipynb_checkpoints``), symbolic links, and anything matching the
``outputs_exclude`` patterns of ``[tool.gitrun]``.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SKIP_DIRS = frozenset({".git", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox",
                       "node_modules", ".ipynb_checkpoints"})
MAX_ENTRIES = 200_000

Stat = tuple[int, int]  # (size, mtime in ns)


@dataclass
class Listing:
    files: dict[str, Stat] = field(default_factory=dict)  # key: path relative to root, or absolute
    truncated: bool = False


def _key(path: str, root: str) -> str:
    # Both are absolute and normalised: slicing gives what os.path.relpath would, at a fraction of its
    # cost (it is called for every file of the working tree, twice per run).
    if path.startswith(root + os.sep):
        relative = path[len(root) + 1:]
        return relative if os.sep == "/" else relative.replace(os.sep, "/")
    if path == root:
        return "."
    return path


def _excluded(relative: str, name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(name, p) or
               (p.endswith("/") and (relative + "/").startswith(p)) for p in patterns)


def scan(root: Path, watch: Iterable[Path] | None = None, exclude: Sequence[str] = (),
         limit: int = MAX_ENTRIES, changed_since_ns: int | None = None) -> Listing:
    """Size and mtime of every regular file below the watched paths (default: ``root``).

    With ``changed_since_ns``, only files whose ctime is at or after it are kept.
    """
    listing = Listing()
    seen = 0
    root_text = os.path.abspath(root)
    stack: list[str] = []
    for path in (watch or [root]):
        text = os.path.abspath(path)
        try:
            if os.path.isfile(text) and not os.path.islink(text):
                info = os.stat(text)
                if changed_since_ns is None or info.st_ctime_ns >= changed_since_ns:
                    listing.files[_key(text, root_text)] = (info.st_size, info.st_mtime_ns)
            elif os.path.isdir(text):
                stack.append(text)
        except OSError:
            continue
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        if any(entry.name == "pyvenv.cfg" for entry in entries) and folder != root_text:
            continue
        for entry in entries:
            try:
                if entry.is_symlink():
                    continue
                relative = _key(entry.path, root_text)
                if entry.is_dir(follow_symlinks=False):
                    if entry.name in SKIP_DIRS or _excluded(relative, entry.name, exclude):
                        continue
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    if exclude and _excluded(relative, entry.name, exclude):
                        continue
                    info = entry.stat(follow_symlinks=False)
                    seen += 1
                    if changed_since_ns is None or info.st_ctime_ns >= changed_since_ns:
                        listing.files[relative] = (info.st_size, info.st_mtime_ns)
                    if seen >= limit:
                        listing.truncated = True
                        return listing
            except OSError:
                continue
    return listing


def changed_files(before: Mapping[str, Sequence[int]], after: Mapping[str, Sequence[int]]) -> list[str]:
    """Paths new in ``after`` or whose size or mtime differ, sorted."""
    return sorted(path for path, stat in after.items() if tuple(before.get(path) or ()) != tuple(stat))


def same_device(paths: Iterable[str], reference: Path) -> tuple[list[str], list[str]]:
    """Split ``paths`` into those on ``reference``'s filesystem and the others."""
    try:
        device = reference.stat().st_dev
    except OSError:
        return [], list(paths)
    same: list[str] = []
    other: list[str] = []
    for path in paths:
        try:
            (same if os.stat(path).st_dev == device else other).append(path)
        except OSError:
            same.append(path)  # not there yet: whatever creates it writes with this machine's clock
    return same, other
