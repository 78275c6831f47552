"""Validation of a run's metadata document against the schema, as a pure function.

A note may have been written by anyone who can push to the shared remote, by a newer gitrun, or be
damaged. ``check_document`` never raises: it returns the document with every field of the wrong
type taken out (so every reader can trust the types below) and the problems it found. A run with
problems shows as ``broken`` with the reason; the other runs are unaffected. Unknown keys are kept
as they are (a newer gitrun may have written them); a newer ``schema`` is read as far as this
version understands it, with a notice.

docs/format.md ("Schema 1") is the contract this checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any

from gitrun.model.run import SCHEMA_VERSION

MAX_DEPTH = 64  # tables and arrays nested deeper than any note gitrun writes (about 6)
MAX_NOTE_BYTES = 64 * 1024 * 1024
# Keys of the *read view* of a document (never stored: ``store.codec.encode`` drops them): why a
# run is broken and what is worth saying about it. Kept in the document itself so they travel with
# it through the read index's caches.
PROBLEMS_KEY = "_problems"
NOTICES_KEY = "_notices"
VIEW_KEYS = (PROBLEMS_KEY, NOTICES_KEY)

Check = Callable[[Any], bool]


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def _is_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _list_of(item: Check) -> Check:
    def check(value: Any) -> bool:
        return isinstance(value, list) and all(item(element) for element in value)

    return check


def _is_output(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("path"), str)


_STR_LIST = _list_of(_is_str)
_TABLE_LIST = _list_of(_is_table)

# Top-level fields every command reads, and what each must be. Anything else is kept unchecked.
TOP_LEVEL: dict[str, tuple[Check, str]] = {
    "schema": (_is_int, "an integer"),
    "id": (_is_str, "text"),
    "name": (_is_str, "text"),
    "message": (_is_str, "text"),
    "tags": (_STR_LIST, "a list of text"),
    "status": (_is_str, "text"),
    "exit_code": (_is_int, "an integer"),
    "signal": (_is_str, "text"),
    "error": (_is_str, "text"),
    "command": (_STR_LIST, "a list of text"),
    "cwd": (_is_str, "text"),
    "started": (_is_time, "an ISO 8601 time"),
    "ended": (_is_time, "an ISO 8601 time"),
    "updated": (_is_time, "an ISO 8601 time"),
    "duration_s": (_is_number, "a number"),
    "user": (_is_str, "text"),
    "host": (_is_str, "text"),
    "snapshot_commit": (_is_str, "text"),
    "result_commit": (_is_str, "text"),
    "pid": (_is_int, "an integer"),
    "pid_create_time": (_is_number, "a number"),
    "note": (_is_str, "text"),
    "git": (_is_table, "a table"),
    "snapshot": (_is_table, "a table"),
    "env": (_is_table, "a table"),
    "hardware": (_is_table, "a table"),
    "log": (_is_table, "a table"),
    "missing": (_is_table, "a table"),
    "params": (_is_table, "a table"),
    "params_source": (_is_table, "a table"),
    "metrics": (_is_table, "a table"),
    "summary": (_is_table, "a table"),
    "console": (_is_table, "a table"),
    "tensorboard": (_is_table, "a table"),
    "system": (_is_table, "a table"),
    "expect": (_is_table, "a table"),
    "outputs": (_list_of(_is_output), "a list of tables with a path"),
    "data": (_TABLE_LIST, "a list of tables"),
    "accepted": (_TABLE_LIST, "a list of tables"),
    "conflicts": (_TABLE_LIST, "a list of tables"),
    "baseline_of": (_STR_LIST, "a list of text"),
    "launched_by": (_is_str, "text"),
    # Links of a run started from another (``gitrun.model.job.LINK_KEYS``) and what came of them.
    "parent": (_is_str, "text"),
    "reproduces": (_is_str, "text"),
    "sweep": (_is_str, "text"),
    "job": (_is_str, "text"),
    "overrides": (_is_table, "a table"),
    "reproduced_by": (_TABLE_LIST, "a list of tables"),
    "tolerance": (_is_table, "a table"),
}

# Fields inside tables that commands read; checked the same way when the table itself is fine.
NESTED: dict[str, dict[str, tuple[Check, str]]] = {
    "git": {
        "branch": (_is_str, "text"), "base_commit": (_is_str, "text"), "upstream": (_is_str, "text"),
        "remote": (_is_str, "text"), "remote_url": (_is_str, "text"), "detached": (_is_bool, "true or false"),
        "dirty": (_is_bool, "true or false"), "modified": (_STR_LIST, "a list of text"),
        "added": (_STR_LIST, "a list of text"), "untracked": (_STR_LIST, "a list of text"),
        "deleted": (_STR_LIST, "a list of text"), "submodules": (_TABLE_LIST, "a list of tables"),
    },
    "snapshot": {"excluded": (_TABLE_LIST, "a list of tables"), "warnings": (_STR_LIST, "a list of text")},
    "env": {
        "python": (_is_table, "a table"), "packages": (_TABLE_LIST, "a list of tables"),
        "vars": (_is_table, "a table"), "redacted": (_STR_LIST, "a list of text"),
        "read": (_STR_LIST, "a list of text"), "required_secrets": (_STR_LIST, "a list of text"),
        "os": (_is_table, "a table"), "container": (_is_table, "a table"),
    },
    "hardware": {"cpu": (_is_table, "a table"), "gpus": (_TABLE_LIST, "a list of tables"),
                 "memory_bytes": (_is_number, "a number"), "gpu_count": (_is_int, "an integer")},
    "log": {"path": (_is_str, "text"), "bytes": (_is_number, "a number"),
            "stored_bytes": (_is_number, "a number"), "truncated": (_is_bool, "true or false")},
}


@dataclass
class CheckedDocument:
    doc: dict[str, Any]
    problems: list[str] = field(default_factory=list)  # the run is broken: each says why
    notices: list[str] = field(default_factory=list)  # worth saying, not a fault (a newer schema)


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply tables and lists nest in ``value`` (without recursion), stopping past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if not isinstance(current, dict | list):
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = current.values() if isinstance(current, dict) else current
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))  # scalars: leaves
    return deepest


def deepest_key(text: str) -> int:
    """The most dotted parts of any key or table header in TOML ``text``, from a cheap scan.

    tomllib takes time quadratic in the parts of one dotted key (10,000 parts: seconds per read),
    so a note is scanned for them before it is parsed. Lines inside multi-line strings are skipped
    (approximately: a delimiter counts when it appears an odd number of times on a line).
    """
    deepest = 0
    in_string = ""
    for line in text.splitlines():
        if in_string:
            if line.count(in_string) % 2 == 1:
                in_string = ""
            continue
        stripped = line.lstrip()
        key = stripped[:stripped.index("]")] if stripped.startswith("[") and "]" in stripped else \
            stripped.partition("=")[0]
        deepest = max(deepest, _count_unquoted_dots(key) + 1)
        for delimiter in ('"""', "'''"):
            if line.count(delimiter) % 2 == 1:
                in_string = delimiter
                break
    return deepest


def keys_too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """``deepest_key(text) > limit``, without scanning keys when no line has ``limit`` dots.

    A key's unquoted dots are dots of its own line, so a note none of whose lines holds ``limit``
    dots has no key deeper than ``limit``: counting dots per line (in C) is ~10x cheaper than
    ``deepest_key``, which only the rare line full of dots then needs.
    """
    if text.count(".") < limit or max(map(str.count, text.splitlines(), repeat(".")), default=0) < limit:
        return False
    return deepest_key(text) > limit


def _count_unquoted_dots(key: str) -> int:
    dots = 0
    quote = ""
    for char in key:
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == ".":
            dots += 1
    return dots


def check_document(doc: Any, run_id: str) -> CheckedDocument:
    """``doc`` as every reader may trust it, with the problems and notices found (never raises)."""
    if not isinstance(doc, dict):
        return CheckedDocument({"id": run_id}, ["the note is not a table"])
    if nesting_depth(doc) > MAX_DEPTH:
        return CheckedDocument({"id": run_id}, [f"the note nests tables or lists more than {MAX_DEPTH} deep"])
    clean = {key: value for key, value in doc.items() if key not in VIEW_KEYS}
    problems: list[str] = []
    notices: list[str] = []
    _drop_wrong_types(clean, TOP_LEVEL, "", problems)
    for table, fields in NESTED.items():
        if isinstance(clean.get(table), dict):
            inner = dict(clean[table])
            _drop_wrong_types(inner, fields, table + ".", problems)
            clean[table] = inner
    if clean.get("id", run_id) != run_id:
        problems.append(f"id is '{clean['id']}' but the run's ref says {run_id}")
        clean["id"] = run_id
    schema = clean.get("schema", SCHEMA_VERSION)
    if schema > SCHEMA_VERSION:
        notices.append(f"written by a newer gitrun (note schema {schema}; this gitrun reads schema "
                       f"{SCHEMA_VERSION}): shown as far as it is understood; upgrade gitrun to see all of it")
    elif schema < 1:
        problems.append(f"schema is {schema}, which no gitrun ever wrote")
    return CheckedDocument(clean, problems, notices)


def _drop_wrong_types(doc: dict[str, Any], fields: dict[str, tuple[Check, str]], prefix: str,
                      problems: list[str]) -> None:
    for key, (check, expected) in fields.items():
        if key in doc and not check(doc[key]):
            problems.append(f"{prefix}{key} should be {expected}, not {_kind(doc[key])}")
            del doc[key]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list" if all(not isinstance(v, dict) for v in value) else "a list with tables"
    return type(value).__name__


def read_view(checked: CheckedDocument) -> dict[str, Any]:
    """The document as readers see it: a broken run's status is ``broken``, with the reasons."""
    view = dict(checked.doc)
    if checked.problems:
        view["status"] = "broken"
        view[PROBLEMS_KEY] = list(checked.problems)
    if checked.notices:
        view[NOTICES_KEY] = list(checked.notices)
    return view


def broken_document(run_id: str, reason: str) -> CheckedDocument:
    """The document of a run whose note could not be read at all."""
    return CheckedDocument({"id": run_id}, [reason])
