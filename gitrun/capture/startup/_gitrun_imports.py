"""gitrun startup hook: record which installed distributions a Python run imported.

Runs INSIDE THE USER'S INTERPRETER, loaded by gitrun's ``sitecustomize``: standard library only,
never imports gitrun, never raises into the user's program.

``git run check`` must fail a run only for packages the run actually used, not for everything
that happens to be installed (gitrun itself, editable tools nobody imported). So when the process
ends, the top-level names of the non-standard-library modules it loaded are mapped to their
distributions with ``importlib.metadata.packages_distributions()`` and appended, as one JSON line
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


def _top_level_names(startup_too: bool) -> set[str]:
    stdlib = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)
    skip = stdlib if startup_too else stdlib | _BEFORE_SCRIPT
    return {name for name in _top_level(list(sys.modules))
            if name and name not in skip and not name.startswith(_STARTUP)}


def imported_distributions(startup_too: bool = False) -> list[str]:
    """Names of the distributions that provide a module this process has loaded."""
    names = _top_level_names(startup_too)
    if not names:
        return []
    from importlib import metadata

    # The metadata files read here are gitrun's business, not the run's data inputs.
    recorder = getattr(sys.modules.get("_gitrun_files"), "RECORDER", None)
    busy = getattr(recorder, "busy", None)
    if busy is not None:
        busy.on = True
    try:
        mapping = metadata.packages_distributions()
    finally:
        if busy is not None:
            busy.on = False
    found: set[str] = set()
    for name in names:
        found.update(mapping.get(name, ()))
    return sorted(found)


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
