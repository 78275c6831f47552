"""gitrun startup hook: record the values ``argparse`` and ``click`` actually parsed.

Runs INSIDE THE USER'S INTERPRETER, loaded by gitrun's ``sitecustomize``: standard library only,
never imports gitrun, never prints, never raises into the user's program. Python 3.7+ syntax
(the user's interpreter may be older than gitrun's).

Neither library is imported here (the script's start-up stays as it was): an import hook waits for
``argparse`` / ``click.core`` to be imported by the script, then wraps
``ArgumentParser.parse_known_args`` (which ``parse_args`` calls) and click's
``Command.make_context``. After a successful top-level parse, the parsed values (defaults
included) are appended as one line ``{"source": "argparse"|"click", "params": {...}}`` to
``$GITRUN_SPOOL/params.jsonl``. The wrapped functions return exactly what the originals return.

``git run rerun --set KEY=VALUE`` (``gitrun.runner.replay``) passes the overrides that are not on
the command line nor in a parameter file as ``$GITRUN_SET`` (a JSON object): they become the
*defaults* of the matching argparse destinations / click parameters (``model.depth`` also matches
``model_depth``), so the parser converts them with its own types, and a value typed on the
command line still wins.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
from typing import Any

FILE_NAME = "params.jsonl"
SET_VARIABLE = "GITRUN_SET"
_MAX_STRING = 1000
_state = threading.local()
_patched: set[str] = set()


def _safe(value: Any) -> Any:
    if value is None or (callable(value) and not isinstance(value, type)):
        return None
    if isinstance(value, (bool, int, str)):
        return value if not isinstance(value, str) or len(value) <= _MAX_STRING else value[:_MAX_STRING]
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_safe(item) for item in value]
        return [item for item in items if item is not None and not isinstance(item, dict)]
    if isinstance(value, dict):
        return value
    name = getattr(value, "name", None)  # open files (argparse.FileType, click.File)
    if isinstance(name, str) and hasattr(value, "read" if "r" in str(getattr(value, "mode", "r")) else "write"):
        return name
    import enum

    if isinstance(value, enum.Enum):
        return _safe(value.value)
    text = str(value)
    return text[:_MAX_STRING]


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = prefix + str(key)
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
            continue
        if hasattr(value, "__dict__") and type(value).__name__ == "Namespace":
            out.update(_flatten(vars(value), name + "."))
            continue
        safe = _safe(value)
        if safe is not None:
            out[name] = safe
    return out


def _write(source: str, values: dict[str, Any]) -> None:
    spool = os.environ.get("GITRUN_SPOOL")
    if not spool:
        return
    params = _flatten(values)
    if not params:
        return
    argv0 = sys.argv[0] if sys.argv else ""
    line = json.dumps({"source": source, "params": params, "pid": os.getpid(), "argv0": argv0}, default=str) + "\n"
    fd = os.open(os.path.join(spool, FILE_NAME), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def _quietly(source: str, values: Any) -> None:
    try:
        _write(source, dict(values))
    except Exception as err:
        if os.environ.get("GITRUN_DEBUG"):
            sys.stderr.write(f"gitrun startup hook: recording {source} values failed: {err}\n")


_SET_CACHE: list[dict[str, Any]] = []


def _overrides() -> dict[str, Any]:
    """``$GITRUN_SET`` as {normalised key: value}, read once; {} when unset or malformed."""
    if not _SET_CACHE:
        found: dict[str, Any] = {}
        try:
            data = json.loads(os.environ.get(SET_VARIABLE) or "{}")
            if isinstance(data, dict):
                found = {_normalised(str(key)): value for key, value in data.items()}
        except ValueError:
            pass
        _SET_CACHE.append(found)
    return _SET_CACHE[0]


def _normalised(name: str) -> str:
    return name.replace("-", "_").replace(".", "_").lower()


def _argparse_default(action: Any, value: Any) -> Any:
    """The default that makes argparse produce ``value`` for ``action`` with its own conversion."""
    if getattr(action, "nargs", None) == 0:  # store_true / store_false / store_const flags
        return bool(value) if not isinstance(value, str) else value.lower() in ("1", "true", "yes")
    convert = getattr(action, "type", None)
    if convert is None:
        return value
    if isinstance(value, list):
        return [convert(str(item)) for item in value]
    return str(value) if not isinstance(value, bool) else str(value).lower()  # argparse converts a str default


def _inject_argparse(parser: Any) -> None:
    wanted = _overrides()
    if not wanted:
        return
    for action in getattr(parser, "_actions", ()):
        dest = getattr(action, "dest", None)
        if isinstance(dest, str) and _normalised(dest) in wanted:
            try:
                action.default = _argparse_default(action, wanted[_normalised(dest)])
            except Exception:
                pass


def _inject_click(command: Any, extra: dict[str, Any]) -> None:
    wanted = _overrides()
    if not wanted:
        return
    matches = {param.name: wanted[_normalised(param.name)] for param in getattr(command, "params", ())
               if isinstance(getattr(param, "name", None), str) and _normalised(param.name) in wanted}
    if matches:
        default_map = dict(extra.get("default_map") or {})
        default_map.update(matches)
        extra["default_map"] = default_map  # click converts default_map values with the parameter's type


def _patch_argparse(module: Any) -> None:
    parser_class = module.ArgumentParser
    original = parser_class.parse_known_args
    if getattr(original, "_gitrun_wrapped", False):
        return

    def parse_known_args(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            _inject_argparse(self)
        except Exception:
            pass
        depth = getattr(_state, "argparse_depth", 0)
        _state.argparse_depth = depth + 1
        try:
            result = original(self, *args, **kwargs)
        finally:
            _state.argparse_depth = depth
        if depth == 0:
            try:
                values = vars(result[0])
                # Hydra's own command line (its overrides are recorded from argv already).
                if not ("overrides" in values and "hydra_help" in values):
                    _quietly("argparse", values)
            except Exception:
                pass
        return result

    parser_class.parse_known_args = _adopt(parse_known_args, original)


def _adopt(wrapper: Any, original: Any) -> Any:
    """Make ``wrapper`` look like ``original`` (name, docs, ``__wrapped__``) and mark it as ours."""
    functools.update_wrapper(wrapper, original)
    wrapper._gitrun_wrapped = True
    return wrapper


def _patch_click(module: Any) -> None:
    command = getattr(module, "Command", None)
    if command is None:
        return
    owner = next((cls for cls in command.__mro__ if "make_context" in cls.__dict__), None)
    if owner is None:
        return
    original = owner.__dict__["make_context"]
    if getattr(original, "_gitrun_wrapped", False):
        return

    def make_context(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            _inject_click(self, kwargs)
        except Exception:
            pass
        ctx = original(self, *args, **kwargs)
        try:
            _quietly("click", ctx.params)
        except Exception:
            pass
        return ctx

    owner.make_context = _adopt(make_context, original)


_PATCHERS = {"argparse": _patch_argparse, "click.core": _patch_click}


def _patch(name: str, module: Any) -> None:
    try:
        _PATCHERS[name](module)
        _patched.add(name)
    except Exception as err:
        if os.environ.get("GITRUN_DEBUG"):
            sys.stderr.write(f"gitrun startup hook: patching {name} failed: {err}\n")
    if _patched >= set(_PATCHERS):
        try:
            sys.meta_path.remove(_FINDER)
        except ValueError:
            pass


class _Finder:
    """Sees the first import of argparse / click.core and patches the module right after it runs."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in _PATCHERS or fullname in _patched:
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        original = getattr(loader, "exec_module", None)
        if original is None:
            return spec

        def exec_module(module: Any) -> None:
            original(module)
            _patch(fullname, module)

        try:
            loader.exec_module = exec_module  # per-spec loader instance
        except Exception:
            return spec
        return spec


_FINDER = _Finder()


def _install() -> None:
    for name in _PATCHERS:
        module = sys.modules.get(name)
        if module is not None:
            _patch(name, module)
    if not _patched >= set(_PATCHERS):
        sys.meta_path.insert(0, _FINDER)


if os.environ.get("GITRUN_SPOOL") and not os.environ.get("GITRUN_NO_AUTOLOG"):
    _install()
