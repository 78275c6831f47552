"""The live spool of a running run: ``<common git dir>/gitrun/live/<run-id>/``.

While the child runs, output and logged points are appended to plain files here (cheap, no git
write per line) so that ``git run show`` can read them within seconds and so that, if gitrun is
killed, the next gitrun command can finalise the run as ``crashed`` with everything kept so far.
The spool is deleted once its content is in the run's result commit.
"""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitrun.errors import StorageError
from gitrun.store import codec
from gitrun.store.git import RepoPaths

LIVE_FILE = "live.toml"
OUTPUT_LOG = "output.log"
KEPT_DIR = "kept"  # beside live/: spools of runs that could not be stored completely, kept for the user
# How the run ended, written by a recorder that could not store its run (a full disk) for the next
# command. Its space is taken when the spool is created, so writing it in place needs no new block.
ENDING_FILE = "ending.toml"
ENDING_RESERVE = 4096


@dataclass
class Spool:
    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name.split(".", 1)[0]

    @property
    def claimed_by(self) -> int | None:
        """The pid of the process finalising this spool for a crashed run, if one claimed it."""
        _, _, suffix = self.path.name.partition(".claimed-")
        return int(suffix) if suffix.isdigit() else None

    def claim(self) -> Spool | None:
        """Take this spool for finalisation; None when another process took it first.

        A rename is atomic: of several gitrun commands finding the same orphan, one wins, so a
        late one can never store an empty log over the finished result.
        """
        target = self.path.with_name(f"{self.run_id}.claimed-{os.getpid()}")
        try:
            os.rename(self.path, target)
        except OSError:
            return None
        return Spool(target)

    def release(self) -> Spool:
        """Give a claimed spool back (it could not be stored now): a later command tries again, even
        while this process lives on (a library user, the terminal UI)."""
        target = self.path.with_name(self.run_id)
        try:
            os.rename(self.path, target)
        except OSError:
            return self
        return Spool(target)

    def file(self, name: str) -> Path:
        return self.path / name

    def write_live(self, info: dict[str, Any]) -> None:
        tmp = self.path / (LIVE_FILE + ".tmp")
        tmp.write_bytes(codec.encode(info))
        os.replace(tmp, self.path / LIVE_FILE)

    def read_live(self) -> dict[str, Any]:
        try:
            return codec.decode((self.path / LIVE_FILE).read_bytes(), "live run state")
        except (OSError, StorageError):
            return {}  # not written yet (the owner is starting) or torn: treated as alive

    def remove(self) -> None:
        # A file written while the folder is being removed (a late sample under load) makes one
        # rmtree leave the folder behind: try again, a left spool would be recovered as a crash.
        for _ in range(5):
            shutil.rmtree(self.path, ignore_errors=True)
            if not os.path.lexists(self.path):
                return

    def kept_path(self) -> Path:
        """Where ``keep`` puts a spool whose content was not stored completely: ``gitrun/kept/<id>``."""
        root = self.path.parent.parent / KEPT_DIR
        target = root / self.run_id
        suffix = 1
        while target.exists():
            suffix += 1
            target = root / f"{self.run_id}.{suffix}"
        return target

    def keep(self, target: Path) -> None:
        """Move the spool out of ``live/`` (no command finalises or deletes it there) to ``target``."""
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(self.path, target)
        self.path = target


def live_root(paths: RepoPaths) -> Path:
    return paths.gitrun_dir / "live"


def create_spool(paths: RepoPaths, run_id: str) -> Spool:
    path = live_root(paths) / run_id
    path.mkdir(parents=True, exist_ok=True)
    (path / ENDING_FILE).write_bytes(b"\n" * ENDING_RESERVE)  # blank TOML: nothing saved yet
    return Spool(path)


def find_spool(paths: RepoPaths, run_id: str) -> Spool | None:
    path = live_root(paths) / run_id
    return Spool(path) if path.is_dir() else None


def all_spools(paths: RepoPaths) -> list[Spool]:
    root = live_root(paths)
    if not root.is_dir():
        return []
    return [Spool(path) for path in sorted(root.iterdir()) if path.is_dir()]


def claimer_is_alive(spool: Spool) -> bool:
    pid = spool.claimed_by
    return pid is not None and pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """A process with this id exists on this host (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_start_time(pid: int) -> float | None:
    """When ``pid`` started, in seconds since boot (Linux: /proc, no psutil import on the record path).

    Only ever compared with another value from this function, to tell our process from a later one
    that reused its pid.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat: starttime in ticks
    except (OSError, IndexError, ValueError):
        pass
    try:
        import psutil

        return float(psutil.Process(pid).create_time())
    except Exception:
        return None


def owner_is_alive(info: dict[str, Any]) -> bool:
    """Is the gitrun process that owns a spool still running? Unknown hosts count as alive."""
    if info.get("host") != socket.gethostname():
        return True
    pid = info.get("pid")
    if not isinstance(pid, int):
        return False
    started = process_start_time(pid)
    if started is None:
        return False  # no such process
    recorded = info.get("pid_create_time")
    # A recycled pid belongs to a process started later than ours.
    return not (isinstance(recorded, float) and abs(started - recorded) > 1.0)
