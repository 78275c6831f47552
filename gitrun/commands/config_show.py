"""``git run config [--json] [KEY]``: each effective setting, its value and where it came from.

The sources and their order are ``gitrun.store.config``'s; an origin is a file and line
(``pyproject.toml:12``, ``.gitrun.toml:3``), a git config level (``git config --global
gitrun.color``) or ``default``.
"""

from __future__ import annotations

from typing import Any

from gitrun.commands.context import open_context
from gitrun.commands.output import print_json, table
from gitrun.errors import UsageError
from gitrun.store.config import DEFAULT, KNOWN, Settings, normal_key


def effective(settings: Settings) -> list[dict[str, Any]]:
    """One entry per setting: every known key (set or not) and every other key that is set."""
    out: list[dict[str, Any]] = []
    for key, (default, about) in KNOWN.items():
        value = settings.raw.get(key, default)
        out.append({"key": key, "value": value, "origin": settings.origin(key), "default": default,
                    "about": about})
    for key, value in settings.raw.items():
        if key in KNOWN:
            continue
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                name = f"{key}.{inner}"
                out.append({"key": name, "value": inner_value, "origin": settings.origin(name), "default": None,
                            "about": ""})
        else:
            out.append({"key": key, "value": value, "origin": settings.origin(key), "default": None, "about": ""})
    return out


def config_command(key: str | None = None, as_json: bool = False) -> int:
    ctx = open_context(recover=False)
    entries = effective(ctx.settings)
    if key is not None:
        wanted = normal_key(key.removeprefix("gitrun."))
        entries = [entry for entry in entries if normal_key(entry["key"]) == wanted]
        if not entries:
            raise UsageError(f"no setting '{key}'", hint="git run config lists every setting")
        if not as_json:
            print(_shown(entries[0]["value"]))
            return 0
    if as_json:
        print_json(entries[0] if key is not None else entries)
        return 0
    rows = [[entry["key"], _shown(entry["value"]), entry["origin"]] for entry in entries]
    print(table(rows, ["setting", "value", "from"]))
    set_here = sum(1 for entry in entries if entry["origin"] != DEFAULT)
    print(f"\n{set_here} set, {len(entries) - set_here} default (order: docs/guide/configuration.md)")
    return 0


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "(none)"
    if value == "":
        return "(unset)"
    return str(value)
