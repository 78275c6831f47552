"""What a field path (``params.lr``, ``metrics.acc``, ``tag``, ``env.packages.torch``) means for a run.

Used by ``--where``, ``--columns``, ``--sort``, ``--expect`` and reports. Pure: works on the run's
metadata document only (docs/query.md lists the fields).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gitrun.model.run import Run
from gitrun.model.timefmt import from_iso

DATA_FIELDS = ("path", "name", "version", "hash", "size", "files", "location", "declared")


def dataset_tags(doc: dict[str, Any]) -> list[str]:
    """``name`` and ``name:version`` of every dataset the run recorded (the data section's names)."""
    tags: list[str] = []
    data = doc.get("data")
    if isinstance(data, list):
        for item in data:
            if isinstance(item, dict) and item.get("name"):
                tags.append(str(item["name"]))
                if item.get("version"):
                    tags.append(f"{item['name']}:{item['version']}")
    return tags


def baseline_branches(doc: dict[str, Any]) -> list[str]:
    value = doc.get("baseline_of")
    return [str(item) for item in value] if isinstance(value, list) else []


def resolve(run: Run, path: tuple[str, ...], now: datetime | None = None) -> list[Any]:
    """The values ``run`` has at ``path``: [] when absent; several for ``tag``."""
    doc = run.doc
    root = path[0]
    rest = path[1] if len(path) > 1 else ""
    simple: dict[str, Any] = {}
    if root in ("id", "name", "status", "message", "user", "host", "cwd", "started", "ended", "exit_code",
                "imported_from"):
        value = run.id if root == "id" else run.status if root == "status" else doc.get(root)
        return [] if value is None else [value]
    if root in ("tag", "tags"):
        return run_tags(run.tags, doc)
    if root == "branch":
        return [run.branch] if run.branch else []
    if root == "command":
        return [" ".join(run.command)] if run.command else []
    if root == "duration":
        return [] if run.duration_s is None else [run.duration_s]
    if root == "age":
        started = run.started
        if started is None:
            return []
        return [((now or datetime.now(UTC)) - started).total_seconds()]
    if root == "commit":
        return [run.snapshot_commit]
    if root == "base":
        base = run.git.get("base_commit")
        return [base] if base else []
    if root == "baseline":
        return baseline_branches(doc)
    if root == "reproduced":  # the newest reproduction's verdict (git run reproduce)
        from gitrun.model.reproduce import last_verdict  # a large module few reads need

        last = last_verdict(doc)
        return [str(last["verdict"])] if last else []
    if root == "note":
        note = doc.get("note")
        return [note] if note else []
    if root == "expect":
        expect = doc.get("expect")
        if not isinstance(expect, dict):
            return []
        key = rest or "met"
        return [expect[key]] if key in expect else []
    if root in ("params", "metrics"):
        return section_values(doc.get(root), rest)
    if root == "summary":
        return summary_values(doc.get("summary"), rest)
    if root == "data":
        return _data_values(doc, rest)
    if root == "env" and rest.startswith("packages."):
        wanted = rest[len("packages."):].lower()
        for package in (doc.get("env") or {}).get("packages") or []:
            if isinstance(package, dict) and str(package.get("name", "")).lower() == wanted:
                return [package.get("version")]
        return []
    section = doc.get(root, simple)
    found = _nested(section, rest.split(".")) if isinstance(section, dict) else None
    if isinstance(found, dict) and "version" in found:
        found = found["version"]  # env.python -> its version
    return [] if found is None else [found]


def section_values(table: Any, rest: str) -> list[Any]:
    """``params.NAME``/``metrics.NAME`` in that section's table: a flat dotted key, else nested tables."""
    if not isinstance(table, dict):
        return []
    if rest in table:
        return [table[rest]]
    found = _nested(table, rest.split("."))
    return [] if found is None or isinstance(found, dict) else [found]


def summary_values(table: Any, rest: str) -> list[Any]:
    """``summary.NAME`` (its last value) or ``summary.NAME.STAT`` in the ``[summary]`` table."""
    if not isinstance(table, dict):
        return []
    if rest in table:
        entry = table[rest]
        return [entry.get("last")] if isinstance(entry, dict) and "last" in entry else []
    name, _, stat = rest.rpartition(".")
    entry = table.get(name)
    return [entry[stat]] if isinstance(entry, dict) and stat in entry else []


def run_tags(tags: list[str], doc: dict[str, Any]) -> list[str]:
    """``tag``'s values: the run's tags, then its datasets' names not among them."""
    return [*tags, *[tag for tag in dataset_tags(doc) if tag not in tags]]


def _nested(table: dict[str, Any], parts: list[str]) -> Any:
    node: Any = table
    for index in range(len(parts)):
        if not isinstance(node, dict):
            return None
        joined = ".".join(parts[index:])
        if joined in node:  # flat dotted keys win
            return node[joined]
        node = node.get(parts[index])
    return node


def _data_values(doc: dict[str, Any], rest: str) -> list[Any]:
    data = doc.get("data")
    if not isinstance(data, list):
        return []
    name, field = rest, ""
    head, _, tail = rest.rpartition(".")
    if head and tail in DATA_FIELDS:
        name, field = head, tail
    for item in data:
        if isinstance(item, dict) and (item.get("name") == name or item.get("path") == name):
            if field:
                return [item[field]] if field in item else []
            value = item.get("version") or item.get("hash")
            return [value] if value else []
    return []


def started_at(run: Run) -> datetime | None:
    text = run.doc.get("started")
    return from_iso(text) if isinstance(text, str) else None
