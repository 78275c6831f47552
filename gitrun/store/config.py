"""gitrun's settings and where each one came from.

Read, lowest precedence first (a later source overrides an earlier one, key by key):

1. the built-in defaults (``KNOWN``);
2. ``git config`` at the system, XDG and global levels (``gitrun.*``): the user's own defaults;
3. ``[tool.gitrun]`` in ``pyproject.toml`` at the repository root: the project's settings;
4. ``.gitrun.toml`` at the repository root (its top level, or a ``[tool.gitrun]`` table);
5. ``git config`` at the local and worktree levels (``.git/config``): this clone only.

Environment variables and command-line options (``NO_COLOR``, ``GIT_PAGER``, ``--color``,
``--no-pager``) win over all of them; they are read where they apply. So a project decides for its
team, a person's global git config fills in what the project leaves open, and one clone can still
override the project without editing a committed file.

Git config names have no underscores and ignore case: ``gitrun.maxUntrackedSize``,
``gitrun.max-untracked-size`` and ``max_untracked_size`` are the same key; a section of the TOML
(``[tool.gitrun.check]``) is a git config subsection (``gitrun.check.key``). Unknown keys are kept
(later features read them); a malformed file or value is one clear error naming the file (and line)
and the key, never a silent default.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2

from gitrun.errors import UsageError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "ki": 1024, "m": 1000**2, "mb": 1000**2,
          "mib": 1024**2, "mi": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "gi": 1024**3,
          "t": 1000**4, "tb": 1000**4, "tib": 1024**4, "ti": 1024**4}

DEFAULT = "default"
COLOR_CHOICES = ("auto", "always", "never")

# key -> (default, what it does); shown by `git run config`, documented in docs/guide/configuration.md
KNOWN: dict[str, tuple[Any, str]] = {
    "max_untracked_size": ("10MiB", "untracked files larger than this stay out of the snapshot"),
    "log_cap": ("16MiB", "console log kept per run (head and tail)"),
    "include_secret_files": ([], "paths you vouch for although their names look secret"),
    "sample_interval": (5.0, "seconds between system samples (CPU, memory, GPU); 0 turns them off"),
    "output_store_limit": ("1MiB", "outputs up to this size are stored in the run"),
    "outputs_store_total": ("64MiB", "total size of stored outputs per run"),
    "outputs": ([], "extra output paths or globs to record"),
    "outputs_exclude": ([], "output globs never recorded"),
    "data_remotes": ([], "folders that hold datasets outside the repository"),
    "color": ("auto", "colour output: auto (on a terminal, unless NO_COLOR), always, never"),
    "pager": ("", "pager for long output (empty: GIT_PAGER, core.pager, PAGER, then less)"),
}


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
    raw: dict[str, Any] = field(default_factory=dict)  # every key set, whatever its source
    origins: dict[str, str] = field(default_factory=dict)  # key (or "section.key") -> where it was set

    def section(self, name: str) -> dict[str, Any]:
        value = self.raw.get(name, {})
        return value if isinstance(value, dict) else {}

    def origin(self, key: str) -> str:
        return self.origins.get(key, DEFAULT)

    def color(self) -> str:
        value = str(self.raw.get("color", "auto")).lower()
        return {"true": "auto", "false": "never", "1": "auto", "0": "never"}.get(value, value)

    def pager(self) -> str:
        return str(self.raw.get("pager", "") or "")


def normal_key(name: str) -> str:
    """The key a git config name or a TOML key stands for: case, '-' and '_' do not count."""
    return name.replace("-", "").replace("_", "").lower()


_KNOWN_BY_NORMAL = {normal_key(key): key for key in KNOWN}


def _read_toml(path: Path) -> tuple[dict[str, Any], list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
        return tomllib.loads(text), text.splitlines()
    except FileNotFoundError:
        return {}, []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise UsageError(f"{path.name}: cannot be read as TOML: {err}", hint="fix or remove the file")


def _line_of(lines: list[str], key: str, section: str | None) -> int | None:
    """The line (1-based) that sets ``key`` in the table ``section`` (None: the top level), if found."""
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    inside = section is None
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped.strip("[] ").replace(" ", "") == section
            continue
        if inside and pattern.match(line):
            return number
    return None


def _merge_toml(settings: Settings, table: dict[str, Any], lines: list[str], name: str,
                table_name: str | None) -> None:
    for key, value in table.items():
        settings.raw[key] = value if not isinstance(value, dict) else {**settings.section(key), **value}
        line = _line_of(lines, key, table_name)
        settings.origins[key] = f"{name}:{line}" if line else name
        if isinstance(value, dict):
            for inner in value:
                inner_line = _line_of(lines, inner, f"{table_name}.{key}" if table_name else key)
                settings.origins[f"{key}.{inner}"] = f"{name}:{inner_line}" if inner_line else name


_USER_LEVELS = {pygit2.enums.ConfigLevel.SYSTEM: "system", pygit2.enums.ConfigLevel.XDG: "xdg",
                pygit2.enums.ConfigLevel.GLOBAL: "global", pygit2.enums.ConfigLevel.PROGRAMDATA: "system"}


def _git_entries(config: pygit2.Config | None) -> list[tuple[str, str, str, bool]]:
    """(key, value, level name, is this clone's level) of every ``gitrun.*`` git config entry."""
    if config is None:
        return []
    entries = []
    for entry in config:
        name = entry.name
        if not name.lower().startswith("gitrun."):
            continue
        level = entry.level
        local = level not in _USER_LEVELS
        level_name = _USER_LEVELS.get(level) or ("worktree" if level == pygit2.enums.ConfigLevel.WORKTREE
                                                 else "local")
        entries.append((name[len("gitrun."):], entry.value or "", level_name, local))
    return entries


def _merge_git(settings: Settings, entries: list[tuple[str, str, str, bool]]) -> None:
    for name, value, level, _ in entries:
        parts = name.split(".")
        origin = f"git config --{level} gitrun.{name}"
        if len(parts) == 1:
            key = _KNOWN_BY_NORMAL.get(normal_key(parts[0]), parts[0].replace("-", "_"))
            settings.raw[key] = value
            settings.origins[key] = origin
        else:  # gitrun.<section>.<key>: a TOML table's entry
            section, key = parts[0].replace("-", "_"), parts[-1].replace("-", "_")
            settings.raw[section] = {**settings.section(section), key: value}
            settings.origins[f"{section}.{key}"] = origin


def load_settings(workdir: Path, git_config: pygit2.Config | None = None) -> Settings:
    """Every setting from its sources, in the order the module docstring gives; checked."""
    settings = Settings()
    entries = _git_entries(git_config)
    _merge_git(settings, [entry for entry in entries if not entry[3]])
    pyproject, lines = _read_toml(workdir / "pyproject.toml")
    tool = pyproject.get("tool", {})
    if isinstance(tool, dict) and isinstance(tool.get("gitrun"), dict):
        _merge_toml(settings, tool["gitrun"], lines, "pyproject.toml", "tool.gitrun")
    local, lines = _read_toml(workdir / ".gitrun.toml")
    nested = isinstance(local.get("tool"), dict) and isinstance(local["tool"].get("gitrun"), dict)
    table = local["tool"]["gitrun"] if nested else local
    _merge_toml(settings, table, lines, ".gitrun.toml", "tool.gitrun" if nested else None)
    _merge_git(settings, [entry for entry in entries if entry[3]])
    _check(settings)
    return settings


def _check(settings: Settings) -> None:
    """Typed values for the keys gitrun reads; one error naming where a bad one was set."""
    raw = settings.raw

    def where(key: str) -> str:
        return f"{settings.origin(key)}: {key}"

    for key in ("max_untracked_size", "log_cap", "output_store_limit", "outputs_store_total"):
        if key in raw:
            size = parse_size(raw[key], where(key))
            if key == "max_untracked_size":
                settings.max_untracked_bytes = size
            elif key == "log_cap":
                settings.log_cap_bytes = size
    if "sample_interval" in raw:
        try:
            if float(raw["sample_interval"]) < 0:  # 0 turns system monitoring off
                raise ValueError
        except (TypeError, ValueError):
            raise UsageError(f"{where('sample_interval')}: '{raw['sample_interval']}' is not a number of seconds",
                             hint="e.g. sample_interval = 5") from None
    if "color" in raw and settings.color() not in COLOR_CHOICES:
        raise UsageError(f"{where('color')}: '{raw['color']}' is not one of {', '.join(COLOR_CHOICES)}",
                         hint="e.g. color = \"never\"")
    include = raw.get("include_secret_files", [])
    if isinstance(include, str):
        include = [include]
    if not isinstance(include, list):
        raise UsageError(f"{where('include_secret_files')}: expected a list of paths",
                         hint='e.g. include_secret_files = ["config/test.env"]')
    settings.include_secret_files = [str(item) for item in include]
