"""TOML encoding of metadata documents."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import tomli_w

from gitrun.errors import StorageError


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
    return tomli_w.dumps(_clean(document)).encode("utf-8")


def decode(data: bytes, what: str = "metadata") -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise StorageError(f"{what} is not valid TOML: {err}")
