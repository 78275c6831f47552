"""TOML encoding of metadata documents."""

from __future__ import annotations

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
    if not any("\udc80" <= char <= "\udcff" for char in value):
        return value
    return "".join(f"\\x{ord(char) - 0xDC00:02x}" if "\udc80" <= char <= "\udcff" else char for char in value)


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
