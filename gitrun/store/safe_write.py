"""The one way gitrun writes files that come from a run: below a chosen root, never outside it.

A run's paths are checked with ``gitrun.model.paths`` (git's checkout rules) before anything is
written (``preflight`` takes them all, so a bad entry refuses the whole command and nothing is
half-written). Writing then walks the folders one by one from the root with ``O_NOFOLLOW`` file
descriptors: a symbolic link anywhere on the way (one the run itself wrote, one already on disk, or
one swapped in meanwhile) stops the write instead of being followed out of the root. Files and links
are written next to their destination and renamed over it, so the destination is replaced, never
written through.

apply (the working tree), checkout-output (the repository or ``--to``) and anything that restores a
run's files later use ``SafeRoot``; nothing else opens those paths for writing.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gitrun.model.paths import PathRefused, check_path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class SafeRoot:
    """Writes run paths (``a/b/c``, already relative) below ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def preflight(self, entries: Iterable[tuple[str, bool]]) -> None:
        """Refuse (PathRefused, naming the entry) if any ``(path, is_link)`` may not be written here.

        Checks git's path rules and that no folder on the way is a symbolic link (or a file) today.
        """
        for path, is_link in entries:
            check_path(path, is_link)
            self._check_parents(path)

    def _check_parents(self, path: str) -> None:
        current = self.root
        parts = path.split("/")
        for index, name in enumerate(parts[:-1]):
            current = current / name
            try:
                info = os.lstat(current)
            except FileNotFoundError:
                return  # created as a folder when written
            except NotADirectoryError:
                return  # the blocking file is reported by the write itself
            if stat.S_ISLNK(info.st_mode):
                raise PathRefused(path, f"'{'/'.join(parts[:index + 1])}' on the way is a symbolic link",
                                  hint="gitrun never writes through links; remove the link or choose another --to")

    @contextmanager
    def _parent(self, path: str, create: bool) -> Iterator[tuple[int, str]]:
        """An fd of ``path``'s folder reached without following any link, and the last name."""
        check_path(path)
        parts = path.split("/")
        if create:
            os.makedirs(self.root, exist_ok=True)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for index, name in enumerate(parts[:-1]):
                child = self._enter(fd, name, create, "/".join(parts[:index + 1]), path)
                os.close(fd)
                fd = child
            yield fd, parts[-1]
        finally:
            os.close(fd)

    @staticmethod
    def _enter(fd: int, name: str, create: bool, shown: str, path: str) -> int:
        """Open the folder ``name`` in ``fd`` (which stays open) without following a link."""
        try:
            child = os.open(name, _DIR_FLAGS, dir_fd=fd)
        except FileNotFoundError:
            if not create:
                raise
            try:
                os.mkdir(name, 0o777, dir_fd=fd)
            except FileExistsError:
                pass  # created meanwhile: opened below like any other folder
            return SafeRoot._enter(fd, name, False, shown, path)
        except OSError as err:
            if err.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                try:
                    is_link = stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
                except OSError:
                    is_link = False
                if is_link:
                    raise PathRefused(path, f"'{shown}' on the way is a symbolic link",
                                      hint="gitrun never writes through links; remove the link and retry")
                raise NotADirectoryError(errno.ENOTDIR, f"'{shown}' is a file, not a folder")
            raise
        return child

    def write_file(self, path: str, data: bytes, executable: bool = False) -> None:
        with self._parent(path, create=True) as (fd, name):
            temp = f".{name}.gitrun-{os.getpid()}"
            handle = os.open(temp, _FILE_FLAGS, 0o600, dir_fd=fd)
            try:
                with os.fdopen(handle, "wb", closefd=True) as out:
                    out.write(data)
                    os.fchmod(out.fileno(), 0o755 if executable else 0o644)
                os.replace(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
            except BaseException:
                _unlink_quietly(temp, fd)
                raise

    def write_link(self, path: str, target: str) -> None:
        check_path(path, is_link=True)
        with self._parent(path, create=True) as (fd, name):
            temp = f".{name}.gitrun-{os.getpid()}"
            os.symlink(target, temp, dir_fd=fd)
            try:
                os.replace(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
            except BaseException:
                _unlink_quietly(temp, fd)
                raise

    def delete(self, path: str) -> None:
        """Remove the file or link at ``path`` (if any), then the folders it leaves empty."""
        try:
            with self._parent(path, create=False) as (fd, name):
                try:
                    os.unlink(name, dir_fd=fd)
                except FileNotFoundError:
                    pass
        except FileNotFoundError:
            return
        parts = path.split("/")
        for depth in range(len(parts) - 1, 0, -1):
            folder = "/".join(parts[:depth])
            try:
                with self._parent(folder, create=False) as (fd, name):
                    os.rmdir(name, dir_fd=fd)
            except OSError:
                return  # not empty (or gone): stop climbing


def _unlink_quietly(name: str, fd: int) -> None:
    try:
        os.unlink(name, dir_fd=fd)
    except OSError:
        pass
