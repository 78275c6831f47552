"""gitrun's settings: ``[tool.gitrun]`` in ``pyproject.toml``, overridden by ``.gitrun.toml``.

Both live at the repository root. Unknown keys are kept (later features read them); a malformed
file is a clear error, never a silent default.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitrun.errors import UsageError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "ki": 1024, "m": 1000**2, "mb": 1000**2,
          "mib": 1024**2, "mi": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "gi": 1024**3,
          "t": 1000**4, "tb": 1000**4, "tib": 1024**4, "ti": 1024**4}


def parse_size(value: Any, what: str) -> int:
    """``10485760``, ``"10MiB"``, ``"1.5 GB"`` -> bytes."""
    if isinstance(value, int) and value >= 0:
        return value
    match = _SIZE.match(str(value))
    if not match or (match.group(2) or "").lower() not in _UNITS:
        raise UsageError(f"{what}: '{value}' is not a size", hint="use bytes or a unit, e.g. 10MiB")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])


@dataclass
class Settings:
    max_untracked_bytes: int = 10 * 1024 * 1024
    log_cap_bytes: int = 16 * 1024 * 1024
    include_secret_files: list[str] = field(default_factory=list)  # paths the user vouches for
    raw: dict[str, Any] = field(default_factory=dict)  # the whole [tool.gitrun] table

    def section(self, name: str) -> dict[str, Any]:
        value = self.raw.get(name, {})
        return value if isinstance(value, dict) else {}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise UsageError(f"{path.name}: cannot be read as TOML: {err}", hint="fix or remove the file")


def load_settings(workdir: Path) -> Settings:
    raw: dict[str, Any] = {}
    pyproject = _read_toml(workdir / "pyproject.toml")
    tool = pyproject.get("tool", {})
    if isinstance(tool, dict) and isinstance(tool.get("gitrun"), dict):
        raw.update(tool["gitrun"])
    local = _read_toml(workdir / ".gitrun.toml")
    raw.update(local.get("tool", {}).get("gitrun", local) if isinstance(local.get("tool"), dict) else local)
    settings = Settings(raw=raw)
    if "max_untracked_size" in raw:
        settings.max_untracked_bytes = parse_size(raw["max_untracked_size"], "max_untracked_size")
    if "log_cap" in raw:
        settings.log_cap_bytes = parse_size(raw["log_cap"], "log_cap")
    include = raw.get("include_secret_files", [])
    if isinstance(include, list):
        settings.include_secret_files = [str(item) for item in include]
    return settings
