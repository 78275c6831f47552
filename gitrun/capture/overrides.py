"""Parameter overrides applied to a job before it runs: the command line, then parameter files.

``rewrite_argv`` changes the value of a parameter where the command line sets it (``--lr 0.1``,
``--lr=0.1``, ``-lr 0.1``, Hydra's ``lr=0.1`` / ``+lr=0.1`` / ``++lr=0.1``; ``--model-depth`` is the
parameter ``model_depth``, as ``params_from_argv`` names it). ``rewrite_param_file`` changes a key
of a YAML/JSON/TOML parameter file (read with the same bounded parsers as recording; written back
without its comments). What neither place holds is left for the startup hook, which makes it the
default of the script's argparse/click parser (``_gitrun_params.py``, ``$GITRUN_SET``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitrun.capture.params import (
    _HYDRA_KEY,
    _OPTION_NAME,
    _option_key,
    flatten,
    is_number_text,
    parse_param_text,
    read_param_text,
    script_arguments,
)
from gitrun.errors import UsageError
from gitrun.model.job import Value, value_text


@dataclass
class OverridePlan:
    """Where each override went, and the command line after them."""

    argv: list[str]
    applied: dict[str, str] = field(default_factory=dict)  # key -> "argv" | "file:<path>"
    left: dict[str, Value] = field(default_factory=dict)  # for the startup hook (parser defaults)


def _same_key(name: str, key: str) -> bool:
    return name == key or name.replace("-", "_") == key.replace("-", "_") or _option_key(name) == key


def _is_value(arg: str) -> bool:
    return not arg.startswith("-") or is_number_text(arg)


def rewrite_argv(argv: Sequence[str], key: str, value: Value) -> list[str] | None:
    """``argv`` with parameter ``key`` set to ``value``, or None when the command line does not set it."""
    args = list(argv)
    start = len(args) - len(script_arguments(args))
    index = start
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return None
        if arg.startswith("-") and len(arg) > 1 and not is_number_text(arg):
            dashes = arg[:len(arg) - len(arg.lstrip("-"))]
            name, sep, _old = arg[len(dashes):].partition("=")
            if _OPTION_NAME.match(name) and _same_key(name, key):
                if sep:
                    return [*args[:index], f"{dashes}{name}={value_text(value)}", *args[index + 1:]]
                return _replace_option_values(args, index, value)
        elif "=" in arg:
            key_text, _, _old = arg.partition("=")
            match = _HYDRA_KEY.match(key_text)
            if match and match.group(2).replace("/", ".") == key:
                return [*args[:index], f"{key_text}={value_text(value)}", *args[index + 1:]]
        index += 1
    return None


def _replace_option_values(args: list[str], index: int, value: Value) -> list[str]:
    """``--opt OLD...`` -> ``--opt NEW...``: a flag set false is dropped, one set true kept."""
    end = index + 1
    while end < len(args) and _is_value(args[end]) and \
            not (_HYDRA_KEY.match(args[end].split("=", 1)[0]) and "=" in args[end]):
        end += 1
        # Several values only when they are numbers (nargs="+"), as params_from_argv reads them.
        if not is_number_text(args[index + 1]) or end >= len(args) or not is_number_text(args[end]):
            break
    had_values = end > index + 1
    if not had_values and isinstance(value, bool):
        return args if value else [*args[:index], *args[index + 1:]]
    new_values = [value_text(item) for item in value] if isinstance(value, list) else [value_text(value)]
    return [*args[:index + 1], *new_values, *args[end:]]


def param_file_keys(path: Path) -> set[str]:
    """The flat keys of a parameter file; empty when it cannot be read as one."""
    try:
        data = parse_param_text(read_param_text(path), path.suffix)
    except (OSError, UnicodeDecodeError, ValueError):
        return set()
    return set(flatten(data)) if isinstance(data, dict) else set()


def rewrite_param_file(path: Path, key: str, value: Value) -> bool:
    """Set ``key`` (dotted) in the parameter file at ``path``; False when the file does not hold it."""
    try:
        data = parse_param_text(read_param_text(path), path.suffix)
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    if not isinstance(data, dict) or key not in flatten(data):
        return False
    _set_dotted(data, key, value)
    path.write_text(_dump(data, path.suffix.lower()), encoding="utf-8")
    return True


def _set_dotted(data: dict[str, Any], key: str, value: Value) -> None:
    """Set the dotted ``key`` in nested ``data``; a key that itself holds dots is matched first."""
    if key in data:
        data[key] = value
        return
    head, _, rest = key.partition(".")
    while rest:
        if isinstance(data.get(head), dict) and _holds(data[head], rest):
            _set_dotted(data[head], rest, value)
            return
        more, _, rest = rest.partition(".")
        head = f"{head}.{more}"
    raise UsageError(f"parameter {key}: could not place it in the file")  # flatten found it: unreachable


def _holds(data: dict[str, Any], key: str) -> bool:
    return key in flatten(data)


def _dump(data: dict[str, Any], suffix: str) -> str:
    if suffix == ".json":
        return json.dumps(data, indent=2) + "\n"
    if suffix == ".toml":
        import tomli_w

        return tomli_w.dumps(data)
    import yaml

    return str(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))


def plan_overrides(argv: Sequence[str], overrides: Sequence[tuple[str, Value]], files: Sequence[Path],
                   root: Path) -> OverridePlan:
    """Apply each override on the command line, else in the first parameter file holding its key.

    ``files`` are candidate parameter files (absolute, inside ``root``); they are rewritten in place.
    """
    plan = OverridePlan(list(argv))
    for key, value in overrides:
        rewritten = rewrite_argv(plan.argv, key, value)
        if rewritten is not None:
            plan.argv = rewritten
            plan.applied[key] = "argv"
            continue
        for path in files:
            if rewrite_param_file(path, key, value):
                plan.applied[key] = f"file:{_relative(path, root)}"
                break
        else:
            plan.left[key] = value
    return plan


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
