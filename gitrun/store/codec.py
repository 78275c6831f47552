"""TOML encoding of metadata documents."""

from __future__ import annotations

import re
from typing import Any

import tomli_w

try:  # the same parser as tomllib (tomllib is tomli), compiled: 1.6-2.2x faster on notes
    import tomli as _toml
except ImportError:  # pragma: no cover - a platform without its wheel: the standard library's copy
    import tomllib as _toml  # type: ignore[no-redef]

from gitrun.errors import StorageError
from gitrun.model.schema import (
    MAX_DEPTH,
    MAX_NOTE_BYTES,
    VIEW_KEYS,
    CheckedDocument,
    broken_document,
    check_document,
    keys_too_deep,
)

# What ``loads`` raises on text that is not TOML (tomli's class, or tomllib's when tomli is missing).
TOMLDecodeError = _toml.TOMLDecodeError


def loads(text: str) -> dict[str, Any]:
    """TOML text as a dict (the caller bounds size and key depth first: ``keys_too_deep``).

    Raises ``TOMLDecodeError``, or ``RecursionError`` for arrays and inline tables nested too deep.
    """
    return _toml.loads(text)


def _text(value: str) -> str:
    """TOML is UTF-8: write each byte of a non-UTF-8 file name (a lone surrogate) as ``\\xNN``."""
    try:
        value.encode("utf-8")  # the common case, in C: no lone surrogate at all
        return value
    except UnicodeEncodeError:
        pass
    return "".join(_char(char) for char in value)


def _char(char: str) -> str:
    if "\udc80" <= char <= "\udcff":
        return f"\\x{ord(char) - 0xDC00:02x}"
    return "\ufffd" if "\ud800" <= char <= "\udfff" else char  # any other lone surrogate: not text


_ESCAPED_BYTE = re.compile(r"\\x([89a-f][0-9a-f])")


def file_name(text: str) -> str:
    """The file name a note's text stands for: ``\\xNN`` (NN >= 80) back to the byte it was written for."""
    if "\\x" not in text:
        return text
    return _ESCAPED_BYTE.sub(lambda match: chr(0xDC00 + int(match.group(1), 16)), text)


def _clean(value: Any) -> Any:
    """Drop None (TOML has no null), turn tuples into lists, make text valid UTF-8, recursively."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {_text(str(k)): _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value if v is not None]
    return value


def encode(document: dict[str, Any]) -> bytes:
    stored = {key: value for key, value in document.items() if key not in VIEW_KEYS}  # read-only view keys
    return tomli_w.dumps(_clean(stored)).encode("utf-8")


def decode(data: bytes, what: str = "metadata") -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
        if keys_too_deep(text):
            raise StorageError(f"{what} has keys dotted more than {MAX_DEPTH} deep")
        return loads(text)
    except (UnicodeDecodeError, TOMLDecodeError) as err:
        raise StorageError(f"{what} is not valid TOML: {err}")
    except RecursionError:
        raise StorageError(f"{what} nests too deeply to read")


def decode_note(data: bytes, run_id: str) -> CheckedDocument:
    """A run's note, read as untrusted input: never raises; a bad note is a broken document.

    The one decode point for notes (``RunStore`` reads every run through it), so a note that is
    not TOML, is nested 10,000 deep or has fields of the wrong type breaks only its own run.
    """
    if len(data) > MAX_NOTE_BYTES:
        return broken_document(run_id, f"the note is {len(data)} bytes, over the {MAX_NOTE_BYTES}-byte limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return broken_document(run_id, "the note is not UTF-8 text")
    if keys_too_deep(text):
        return broken_document(run_id, f"the note has keys dotted more than {MAX_DEPTH} deep")
    try:
        doc = loads(text)
    except TOMLDecodeError as err:
        return broken_document(run_id, f"the note is not valid TOML ({err})")
    except RecursionError:
        return broken_document(run_id, "the note nests tables or lists too deeply to read")
    return check_document(doc, run_id)
