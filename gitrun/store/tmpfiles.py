"""gitrun's temporary files under ``<common git dir>/gitrun/``, and the sweep that removes stale ones.

A snapshot works on a copy of the index, ``gitrun/tmp/index-<host>-<pid>-<random>``, removed when it
ends. A gitrun killed with ``kill -9`` (or a power cut) during the snapshot leaves it behind, as
it leaves half-written cache files (``gitrun/cache/*.tmp``, ``.tmp-*``, ...). Every gitrun command
sweeps them: a temporary index whose process (on this host) is gone is removed at once; anything
else is removed when it is older than a day, by change time (a copy keeps the index's mtime, and
no program can set a ctime back), so a live process on another machine sharing the folder (a
home directory on NFS) keeps its files.
"""

from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path

from gitrun.store.git import RepoPaths
from gitrun.store.spool import pid_alive

STALE_AFTER_S = 24 * 3600
_INDEX_PREFIX = "index-"
_CACHE_TEMP = re.compile(r"(^\.(tmp|data-hashes|python)-.*)|(\.tmp$)")


def temp_dir(paths: RepoPaths) -> Path:
    return paths.gitrun_dir / "tmp"


def _host_tag() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())[:64] or "localhost"


def temp_index_path(paths: RepoPaths) -> Path:
    """A fresh name for this process's temporary index (the folder is created)."""
    folder = temp_dir(paths)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{_INDEX_PREFIX}{_host_tag()}-{os.getpid()}-{os.urandom(8).hex()}"


def _owner(name: str) -> tuple[str | None, int | None]:
    """(host, pid) from a temporary index's name; host None for the older ``index-<pid>-<random>``."""
    parts = name[len(_INDEX_PREFIX):].rsplit("-", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return parts[0], int(parts[1])
    if len(parts) == 2 and parts[0].isdigit():
        return None, int(parts[0])
    return None, None


def _is_stale_index(name: str, now: float, ctime: float) -> bool:
    if now - ctime > STALE_AFTER_S:
        return True
    host, pid = _owner(name)
    if pid is None or (host is not None and host != _host_tag()):
        return False
    return pid != os.getpid() and not pid_alive(pid)


def sweep_stale_temp_files(paths: RepoPaths) -> list[Path]:
    """Remove what killed gitrun processes left behind; return what was removed. Never raises."""
    removed: list[Path] = []
    now = time.time()
    for folder, is_stale in ((temp_dir(paths), _is_stale_index),
                             (paths.gitrun_dir / "cache", _is_stale_cache_temp)):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False) and is_stale(entry.name, now,
                                                                     entry.stat(follow_symlinks=False).st_ctime):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except OSError:
                continue  # removed by another sweeper meanwhile, or not ours to remove
    return removed


def _is_stale_cache_temp(name: str, now: float, ctime: float) -> bool:
    return bool(_CACHE_TEMP.search(name)) and now - ctime > STALE_AFTER_S
