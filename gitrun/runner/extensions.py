"""Extension points of a recording, so that each feature (parameters, metrics, system sampling,
outputs, data) lives in its own module and the recorder itself stays small.

A ``RecordExtension`` is created per run and called at fixed moments:

1. ``prepare(rec)``: before the start note is written; add metadata to ``rec.doc`` and files to
   the spool (the spool exists, the run does not yet).
2. ``child_env(env)``: adjust the child's environment (e.g. the Python startup hook).
3. ``consumers()``: output consumers that see every byte the child prints.
4. ``on_started(pid)`` and ``on_tick()`` (about once a second) while the child runs.
5. ``stop()``: the child has ended; flush anything buffered into the spool.

Whatever must reach the stored run is read back from the spool by a *result contributor*
(``gitrun.runner.features.CONTRIBUTORS``), which also runs when a crashed run is finalised later by
another process: so nothing an extension learns may live only in its memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitrun.runner.process import OutputConsumer

if TYPE_CHECKING:
    from gitrun.store.config import Settings
    from gitrun.store.git import RepoPaths
    from gitrun.store.spool import Spool


@dataclass
class Recording:
    """What an extension may read (and, for ``doc`` and ``options``, add to) during a recording."""

    run_id: str
    command: list[str]
    cwd: Path
    paths: RepoPaths
    settings: Settings
    spool: Spool
    doc: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)  # feature options from the command line


class RecordExtension:
    """Base class: every hook does nothing."""

    def __init__(self, rec: Recording) -> None:
        self.rec = rec

    def prepare(self) -> None:
        return None

    def child_env(self, env: dict[str, str]) -> None:
        return None

    def consumers(self) -> list[OutputConsumer]:
        return []

    def on_started(self, pid: int) -> None:
        return None

    def on_tick(self) -> None:
        return None

    def stop(self) -> None:
        return None

