"""Result contributor: what the run's Python processes used of their environment.

* Variables: the startup hook ``gitrun/capture/startup/_gitrun_env.py`` spools the names read to
  ``env_reads.jsonl``; this puts ``env.read`` (every name read) and ``env.read_unset`` (names read
  while unset) into the note. Values are never recorded here (``env.vars`` has the recorded,
  redacted values). ``git run check`` uses the names to list the secrets a rerun must set.
* Packages: ``_gitrun_imports.py`` spools the distributions each process imported to
  ``imports.jsonl``; this puts their union, without gitrun itself, into ``env.imported``. The
  extension creates the (empty) file when the hook is injected, so ``env.imported = []`` means
  "a traced run that imported nothing", while no ``env.imported`` means "not traced".
"""

from __future__ import annotations

import json
import sys
from typing import Any

from gitrun.model.checks import normalise_distribution
from gitrun.runner.ending import Ending
from gitrun.runner.extensions import RecordExtension
from gitrun.runner.startup_hook import add_startup_hook
from gitrun.store.spool import Spool
from gitrun.store.trees import TreeContent

SPOOL_FILE = "env_reads.jsonl"
IMPORTS_FILE = "imports.jsonl"
MAX_NAMES = 2000
# Never a requirement of the run: the recorder itself (in-process runs import it).
OWN_DISTRIBUTIONS = frozenset({"gitrun"})


def _json_lines(spool: Spool, name: str) -> list[dict[str, Any]]:
    path = spool.file(name)
    if not path.exists():
        return []
    items: list[dict[str, Any]] = []
    for line in path.read_bytes().decode("utf-8", "replace").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue  # a line cut short by a kill
        if isinstance(item, dict):
            items.append(item)
    return items


def _reads_section(spool: Spool) -> dict[str, Any]:
    if not spool.file(SPOOL_FILE).exists():
        return {}
    present: dict[str, bool] = {}
    for item in _json_lines(spool, SPOOL_FILE):
        if isinstance(item.get("name"), str):
            name = item["name"]
            present[name] = present.get(name, False) or bool(item.get("present"))
    names = sorted(present)[:MAX_NAMES]
    return {"read": names, "read_unset": [name for name in names if not present[name]]}


def _imports_section(spool: Spool) -> dict[str, Any]:
    if not spool.file(IMPORTS_FILE).exists():
        return {}
    found: set[str] = set()
    for item in _json_lines(spool, IMPORTS_FILE):
        names = item.get("distributions")
        if isinstance(names, list):
            found.update(str(name) for name in names if isinstance(name, str))
    own = {name for name in found if normalise_distribution(name) in OWN_DISTRIBUTIONS}
    return {"imported": sorted(found - own)[:MAX_NAMES]}


def env_reads_contributor(spool: Spool, ending: Ending) -> tuple[dict[str, TreeContent], dict[str, Any]]:
    env = {**_reads_section(spool), **_imports_section(spool)}
    return {}, ({"env": env} if env else {})


class EnvReadsExtension(RecordExtension):
    """Makes sure the startup hook (``_gitrun_env.py``, ``_gitrun_imports.py``) reaches Python children."""

    def prepare(self) -> None:
        if not self.rec.options.get("no_autolog"):
            self.rec.spool.file(IMPORTS_FILE).touch()  # "traced": see the module's docstring

    def child_env(self, env: dict[str, str]) -> None:
        if not self.rec.options.get("no_autolog"):
            add_startup_hook(env)  # idempotent: other features add it too

    def stop(self) -> None:
        # gitrun.init(): the hook runs in this very process, and its exit handler would come after
        # the run is finalised; record this process's imports now instead.
        hook = sys.modules.get("_gitrun_imports")
        if self.rec.doc.get("launched_by") == "gitrun.init" and hook is not None:
            hook.record_now(startup_too=True)
