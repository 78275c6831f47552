"""Result contributor: the names of environment variables the run's Python processes read.

The startup hook ``gitrun/capture/startup/_gitrun_env.py`` spools them to ``env_reads.jsonl``; this
puts ``env.read`` (every name read) and ``env.read_unset`` (names read while unset) into the note.
Values are never recorded here (``env.vars`` has the recorded, redacted values). ``git run check``
uses the names to list the secrets whoever reruns the run must set.
"""

from __future__ import annotations

import json
from typing import Any

from gitrun.runner.extensions import EXTENSIONS, RecordExtension
from gitrun.runner.finalise import CONTRIBUTORS, Ending
from gitrun.runner.startup_hook import add_startup_hook
from gitrun.store.spool import Spool
from gitrun.store.trees import TreeContent

SPOOL_FILE = "env_reads.jsonl"
MAX_NAMES = 2000


def env_reads_contributor(spool: Spool, ending: Ending) -> tuple[dict[str, TreeContent], dict[str, Any]]:
    path = spool.file(SPOOL_FILE)
    if not path.exists():
        return {}, {}
    present: dict[str, bool] = {}
    for line in path.read_bytes().decode("utf-8", "replace").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue  # a line cut short by a kill
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            name = item["name"]
            present[name] = present.get(name, False) or bool(item.get("present"))
    names = sorted(present)[:MAX_NAMES]
    return {}, {"env": {"read": names, "read_unset": [name for name in names if not present[name]]}}


class EnvReadsExtension(RecordExtension):
    """Makes sure the startup hook (which holds ``_gitrun_env.py``) reaches Python children."""

    def child_env(self, env: dict[str, str]) -> None:
        if not self.rec.options.get("no_autolog"):
            add_startup_hook(env)  # idempotent: other features add it too


EXTENSIONS.append(EnvReadsExtension)
CONTRIBUTORS.append(env_reads_contributor)
