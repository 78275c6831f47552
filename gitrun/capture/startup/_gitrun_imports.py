"""gitrun startup hook: record which installed distributions a Python run imported.

Runs INSIDE THE USER'S INTERPRETER, loaded by gitrun's ``sitecustomize``: standard library only,
never imports gitrun, never raises into the user's program.

``git run check`` must fail a run only for packages the run actually used, not for everything
that happens to be installed (gitrun itself, editable tools nobody imported). So when the process
ends, the top-level names of the non-standard-library modules it loaded (not the user's own, in
the working directory or the script's folder) are mapped to their distributions (``top_level.txt``,
else RECORD, as ``importlib.metadata.packages_distributions()`` does) and appended, as one JSON line
``{"distributions": [...]}``, to ``$GITRUN_SPOOL/imports.jsonl`` in a single ``write`` (each
Python process of the run adds its own line). The mapping reads the installed distributions'
metadata, so it runs once, at exit, and only when a non-stdlib module was loaded. A process that
dies by SIGKILL or ``os._exit`` records nothing: the check then errs on the side of no alarm.
"""

from __future__ import annotations

import atexit
import json
import os
import sys

FILE_NAME = "imports.jsonl"
# Modules every interpreter loads before the script, through site's .pth files: gitrun's hook,
# setuptools' distutils shim, the finders of editable installs. Loading them is not using them.
_STARTUP = ("sitecustomize", "usercustomize", "_gitrun_", "_distutils_hack", "__editable__", "__main__")
_done: list[bool] = []


def _top_level(names: object) -> set[str]:
    return {str(name).partition(".")[0] for name in names}  # type: ignore[attr-defined]


# What site loaded before the script started (when loaded by sitecustomize; in a gitrun.init()
# run the script itself has imported things by now, so record_now(startup_too=True) ignores it).
_BEFORE_SCRIPT = _top_level(list(sys.modules))


def _own_code_dirs() -> tuple[str, ...]:
    """The script's folder and the working directory: modules there are the user's, not packages."""
    dirs = {os.getcwd()}
    if sys.path and sys.path[0]:
        dirs.add(os.path.abspath(sys.path[0]))
    return tuple(os.path.join(folder, "") for folder in dirs)


def _top_level_names(startup_too: bool) -> set[str]:
    stdlib = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)
    skip = stdlib if startup_too else stdlib | _BEFORE_SCRIPT
    own = _own_code_dirs()
    names: set[str] = set()
    for name in _top_level(list(sys.modules)):
        if not name or name in skip or name.startswith(_STARTUP):
            continue
        location = getattr(sys.modules.get(name), "__file__", None)
        if not isinstance(location, str) or os.path.abspath(location).startswith(own):
            continue  # a namespace or built-in module, or the user's own code
        names.add(name)
    return names


def _name_of(dist: object) -> str:
    """The distribution's name from its metadata headers (much faster than ``dist.metadata``)."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""  # type: ignore[attr-defined]
    for line in text.splitlines():
        if not line:
            break
        if line.startswith("Name:"):
            return line[5:].strip()
    return ""


def _record_top_levels(dist: object) -> set[str]:
    """Top-level module names from a RECORD listing (for wheels without top_level.txt)."""
    tops: set[str] = set()
    for line in (dist.read_text("RECORD") or "").splitlines():  # type: ignore[attr-defined]
        path = line.split(",", 1)[0]
        first, _, rest = path.partition("/")
        if not first or first.startswith("..") or first.endswith((".dist-info", ".data")) or first == "__pycache__":
            continue
        tops.add(first if rest else first.rsplit(".", 1)[0] if first.endswith((".py", ".so", ".pyd")) else first)
        if first.endswith((".so", ".pyd")):
            tops.add(first.split(".", 1)[0])
    return tops


def imported_distributions(startup_too: bool = False) -> list[str]:
    """Names of the distributions that provide a module this process has loaded.

    Like ``importlib.metadata.packages_distributions()``, but only for the names loaded, reading
    ``top_level.txt`` where a distribution has one and a RECORD only while names are unresolved:
    at exit, on every Python process of a run, a full mapping would read every RECORD installed."""
    names = _top_level_names(startup_too)
    if not names:
        return []
    # The metadata files read here are gitrun's business, not the run's data inputs.
    recorder = getattr(sys.modules.get("_gitrun_files"), "RECORDER", None)
    busy = getattr(recorder, "busy", None)
    if busy is not None:
        busy.on = True
    try:
        return _distributions_of(names)
    finally:
        if busy is not None:
            busy.on = False


def _distributions_of(names: set[str]) -> list[str]:
    from importlib import metadata

    found: set[str] = set()
    remaining = set(names)
    without_top_level = []
    for dist in metadata.distributions():
        text = dist.read_text("top_level.txt")
        if text is None:
            without_top_level.append(dist)
            continue
        hits = set(text.split()) & names
        if hits:
            found.add(_name_of(dist))
            remaining -= hits
    for dist in without_top_level:
        if not remaining:
            break
        hits = _record_top_levels(dist) & names
        if hits:
            found.add(_name_of(dist))
            remaining -= hits
    return sorted(name for name in found if name)


def record_now(startup_too: bool = False) -> None:
    """Append this process's imports to the spool (once per process; later calls do nothing)."""
    spool = os.environ.get("GITRUN_SPOOL")
    if _done or not spool:
        return
    _done.append(True)
    try:
        line = json.dumps({"distributions": imported_distributions(startup_too)}) + "\n"
        fd = os.open(os.path.join(spool, FILE_NAME), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8", "surrogateescape"))
        finally:
            os.close(fd)
    except Exception:
        pass


atexit.register(record_now)
