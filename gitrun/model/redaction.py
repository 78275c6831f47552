"""Redact secrets from a run's metadata before it is stored: one function, ``redact_document``.

``gitrun.store.runs.RunStore`` applies it to every note it writes and to the snapshot commit's
message, so every path that records or edits a run (the recorder, ``gitrun.init``, ``git run note``,
``tag``, ``check --accept``) stores only redacted text. What is hidden:

- the command line: a value the detector recognises is replaced in place (``--api-key
  <redacted:openai-key>``, ``https://ada:<redacted:url-password>@host``); the value of an argument
  whose name says it is secret (``--db-password hunter2``, ``--api-key X`` with a credential-looking
  X, Hydra's ``db.pass=X``) becomes ``<redacted:secret>``. The option name stays, so whoever reruns
  the run knows what to supply;
- parameters (from argv, argparse, ``--params`` files, ``gitrun.log_params``): the same rules, by
  key and by value;
- every other string in the document (message, tags, notes, environment values, package URLs ...):
  by value.

Each hidden value is listed in the document's ``redacted`` array (``field``, ``name``, ``kind``) so
``git run check`` can tell who reruns the run which secrets it needs.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

from gitrun.model.secrets import (
    is_placeholder,
    looks_like_credential,
    redact_text,
    redaction_marker,
    scan,
    secret_name_strength,
)

BY_NAME = "secret"  # the kind of a value hidden because of its name
_OPTION_PREFIXES = ("--", "-", "+", "++")


def _hidden_by_name(name: str, value: Any) -> bool:
    """True when ``value``, given under ``name``, must not be stored (its format is not known)."""
    if not isinstance(value, str) or is_placeholder(value) or value.startswith("<redacted"):
        return False
    strength = secret_name_strength(name)
    if strength == "password":
        return True
    return strength == "key" and looks_like_credential(value)


def _redact_value(name: str, value: str) -> tuple[str, str | None]:
    """(stored value, kind of what was hidden or None) for a named string value."""
    redacted, kinds = redact_text(value)
    if kinds:
        return redacted, kinds[0]
    if _hidden_by_name(name, value):
        return redaction_marker(BY_NAME), BY_NAME
    return value, None


def _option_name(arg: str) -> str | None:
    """``--api-key`` of ``--api-key`` / ``--api-key=X``; ``db.pass`` of ``db.pass=X``; else None."""
    head = arg.split("=", 1)[0]
    stripped = head.lstrip("-+")
    if not stripped or not (stripped[0].isalpha() or stripped[0] == "_"):
        return None
    if not all(c.isalnum() or c in "_-./" for c in stripped):
        return None
    if head.startswith("-") or "=" in arg:
        return head
    return None


def redact_argv(argv: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """The command line as it may be stored, and (argument name, kind) of every hidden value."""
    stored = list(argv)
    found: list[tuple[str, str]] = []
    pending: str | None = None  # an option whose value is the next argument
    for index, arg in enumerate(argv):
        name = _option_name(arg)
        if name is not None and "=" in arg:
            value = arg.split("=", 1)[1]
            new_value, kind = _redact_value(name, value)
            if kind:
                stored[index] = f"{arg.split('=', 1)[0]}={new_value}"
                found.append((name, kind))
            pending = None
            continue
        if name is not None and arg.startswith("-"):
            redacted, kinds = redact_text(arg)
            if kinds:  # a token glued to a short option: -psk-...
                stored[index] = redacted
                found.append((name, kinds[0]))
            pending = name
            continue
        label = pending or f"argv[{index}]"
        new_value, kind = _redact_value(pending, arg) if pending else _redact_value("", arg)
        if kind:
            stored[index] = new_value
            found.append((label, kind))
        pending = None
    return stored, found


def redact_params(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Hide secret parameter values in place (by key and by value); (key, kind) of each."""
    found: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, str):
            new_value, kind = _redact_value(key, value)
            if kind:
                params[key] = new_value
                found.append((key, kind))
        elif isinstance(value, list):
            for position, item in enumerate(value):
                if isinstance(item, str):
                    new_item, kind = _redact_value(key, item)
                    if kind:
                        value[position] = new_item
                        found.append((key, kind))
    return found


def _strings(root: Any, out: list[tuple[Any, Any, str]]) -> None:
    """Every (container, key, string) below ``root``; iterative, so a pulled note nested 10,000 deep
    cannot exhaust the stack."""
    stack = [root]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if isinstance(value, str):
                out.append((node, key, value))
            elif isinstance(value, dict | list):
                stack.append(value)


def _redact_strings(doc: dict[str, Any], skip: set[str]) -> list[tuple[str, str]]:
    """Hide every secret the detector finds in the document's strings (outside ``skip``), in place.

    The strings are scanned as one text first: a document without secrets (nearly all of them)
    costs one scan, not one per string.
    """
    refs: list[tuple[Any, Any, str]] = []
    for key, value in doc.items():
        if key in skip:
            continue
        if isinstance(value, str):
            refs.append((doc, key, value))
        elif isinstance(value, dict | list):
            _strings(value, refs)
    if not refs:
        return []
    starts: list[int] = []
    position = 0
    for _, _, text in refs:
        starts.append(position)
        position += len(text) + 1
    found = scan("\n".join(text for _, _, text in refs))
    hidden: list[tuple[str, str]] = []
    by_string: dict[int, list[tuple[int, int, str]]] = {}
    for item in found:
        which = bisect.bisect_right(starts, item.start) - 1
        offset = starts[which]
        end = min(item.end - offset, len(refs[which][2]))
        by_string.setdefault(which, []).append((item.start - offset, end, item.kind))
    for which, spans in by_string.items():
        container, key, text = refs[which]
        for start, end, kind in reversed(spans):
            text = text[:start] + redaction_marker(kind) + text[end:]
            hidden.append((str(key), kind))
        container[key] = text
    return hidden


def redact_document(doc: dict[str, Any]) -> list[dict[str, str]]:
    """Hide every secret in a run's metadata in place; add what was hidden to ``doc["redacted"]``.

    Returns the entries added (``{"field", "name", "kind"}``); a document redacted before is left
    as it is (redaction markers are not secrets).
    """
    added: list[dict[str, str]] = []
    command = doc.get("command")
    if isinstance(command, list) and all(isinstance(arg, str) for arg in command):
        stored, found = redact_argv(command)
        doc["command"] = stored
        added += [{"field": "command", "name": name, "kind": kind} for name, kind in found]
    params = doc.get("params")
    if isinstance(params, dict):
        added += [{"field": "params", "name": key, "kind": kind} for key, kind in redact_params(params)]
    added += [{"field": "text", "name": name, "kind": kind}
              for name, kind in _redact_strings(doc, {"command", "params", "redacted"})]
    if added:
        existing = doc.get("redacted")
        entries = list(existing) if isinstance(existing, list) else []
        for entry in added:
            if entry not in entries:
                entries.append(entry)
        doc["redacted"] = entries
    return added


def redact_result_files(files: dict[str, Any], outputs_prefix: str = "outputs/") -> dict[str, str]:
    """Screen the files of a run's result tree in place before they are stored.

    A file under ``outputs_prefix`` that is a secret (``.env``, ``id_ed25519``, a private key, a
    file holding a token) is dropped; every other file keeps its bytes with each secret replaced by
    ``<redacted:KIND>`` (the console log, series, data listings). Returns {dropped path: reason}.
    Values that are not bytes (blobs already stored) are left alone.
    """
    from gitrun.model.secrets import redact_bytes, secret_file_reason

    dropped: dict[str, str] = {}
    for path in list(files):
        data = files[path]
        if not isinstance(data, bytes):
            continue
        if path.startswith(outputs_prefix):
            reason = secret_file_reason(path, data)
            if reason:
                del files[path]
                dropped[path] = reason
            continue
        redacted, kinds = redact_bytes(data)
        if kinds:
            files[path] = redacted
    return dropped
