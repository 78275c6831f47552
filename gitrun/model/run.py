"""A run as read back from the store: its ids, and its metadata document (the note's TOML).

The document is kept as a dict so that fields written by newer gitrun versions survive a
read-modify-write by an older one; the properties below are the typed view every command uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gitrun.model.timefmt import from_iso

SCHEMA_VERSION = 1


@dataclass
class Run:
    id: str
    ref: str  # refs/experiments/<id>
    result_commit: str  # what the ref points at: the commit whose tree holds logs, series, outputs
    snapshot_commit: str  # the code as it was on disk; the note is attached to this commit
    doc: dict[str, Any] = field(default_factory=dict)
    # The exact note text ``doc`` was read from or written as: a read-modify-write that finds the
    # note unchanged reuses ``doc`` instead of parsing the TOML again.
    note_bytes: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return str(self.doc.get("name", ""))

    @property
    def status(self) -> str:
        return str(self.doc.get("status", "unknown"))

    @property
    def problems(self) -> list[str]:
        """Why the note could not be trusted (``gitrun.model.schema``): the run is ``broken``."""
        value = self.doc.get("_problems")
        return [str(item) for item in value] if isinstance(value, list) else []

    @property
    def notices(self) -> list[str]:
        """What is worth saying about the note (written by a newer gitrun)."""
        value = self.doc.get("_notices")
        return [str(item) for item in value] if isinstance(value, list) else []

    @property
    def message(self) -> str:
        return str(self.doc.get("message", ""))

    @property
    def tags(self) -> list[str]:
        return [str(tag) for tag in self.doc.get("tags", [])]

    @property
    def command(self) -> list[str]:
        return [str(arg) for arg in self.doc.get("command", [])]

    @property
    def started(self) -> datetime | None:
        text = self.doc.get("started")
        return from_iso(text) if isinstance(text, str) else None

    @property
    def ended(self) -> datetime | None:
        text = self.doc.get("ended")
        return from_iso(text) if isinstance(text, str) else None

    @property
    def duration_s(self) -> float | None:
        value = self.doc.get("duration_s")
        return float(value) if isinstance(value, int | float) else None

    @property
    def exit_code(self) -> int | None:
        value = self.doc.get("exit_code")
        return int(value) if isinstance(value, int) else None

    @property
    def git(self) -> dict[str, Any]:
        value = self.doc.get("git", {})
        return value if isinstance(value, dict) else {}

    @property
    def branch(self) -> str:
        return str(self.git.get("branch", "")) or ("(detached)" if self.git.get("detached") else "")

    def section(self, name: str) -> dict[str, Any]:
        value = self.doc.get(name, {})
        return value if isinstance(value, dict) else {}


def run_summary_json(run: Run) -> dict[str, Any]:
    """The stable ``--json`` object of a run (see docs/format.md, "JSON output")."""
    doc = run.doc
    summary: dict[str, Any] = {
        "schema": doc.get("schema", SCHEMA_VERSION),
        "id": run.id,
        "name": run.name,
        "ref": run.ref,
        "commit": run.snapshot_commit,
        "result_commit": run.result_commit,
        "status": run.status,
        "exit_code": run.exit_code,
        "signal": doc.get("signal"),
        "command": run.command,
        "cwd": doc.get("cwd", "."),
        "message": run.message,
        "tags": run.tags,
        "started": doc.get("started"),
        "ended": doc.get("ended"),
        "duration_s": run.duration_s,
        "user": doc.get("user"),
        "host": doc.get("host"),
        "git": run.git,
        "snapshot": run.section("snapshot"),
        "env": run.section("env"),
        "hardware": run.section("hardware"),
        "log": run.section("log"),
        "missing": run.section("missing"),
    }
    if run.problems:
        summary["problems"] = list(run.problems)
    if run.notices:
        summary["notices"] = list(run.notices)
    for extra in ("params", "params_source", "metrics", "summary", "console", "tensorboard", "outputs", "system",
                  "data", "expect", "note", "accepted", "parent", "baseline_of", "reproduces", "sweep", "job",
                  "overrides", "launched_by", "reproduced_by", "imported_from", "imported", "error", "final",
                  "labels", "notebook"):
        if extra in doc:
            summary[extra] = doc[extra]
    return summary
