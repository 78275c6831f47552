"""gitrun startup hook: record the NAMES of environment variables a Python run reads (never values).

Runs INSIDE THE USER'S INTERPRETER, loaded by gitrun's ``sitecustomize``: standard library only,
never imports gitrun, never raises into the user's program, never changes what a read returns.

``os.environ[...]``, ``os.environ.get``, ``name in os.environ`` and ``os.getenv`` all go through
``os._Environ.__getitem__`` (the Mapping mixins call it), so wrapping that one method sees them
all; reads of ``os.environb`` and whole-environment copies (``dict(os.environ)``, iteration) are not
counted: they name no variable. Each name is appended once per process, as
``{"name": NAME, "present": BOOL}``, to ``$GITRUN_SPOOL/env_reads.jsonl`` with a single ``write``
on an ``O_APPEND`` descriptor, so nothing is lost when the process is killed or leaves through
``os._exit``. gitrun uses the names to tell who reruns the run which secrets it needs.
"""

from __future__ import annotations

import atexit
import json
import os

FILE_NAME = "env_reads.jsonl"


def _install() -> None:
    spool = os.environ.get("GITRUN_SPOOL")
    if not spool:
        return
    environ_class = type(os.environ)
    original = environ_class.__getitem__
    if getattr(original, "_gitrun_env", False):
        return  # already installed in this interpreter
    target = os.environ
    seen: set[str] = set()
    state = {"fd": -1}

    def _record(key: object, present: bool) -> None:
        if not isinstance(key, str) or key in seen or key.startswith("GITRUN_"):
            return  # GITRUN_*: gitrun's own hooks talking to each other
        seen.add(key)
        try:
            if state["fd"] < 0:
                state["fd"] = os.open(os.path.join(spool, FILE_NAME),
                                      os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            line = json.dumps({"name": key, "present": present}) + "\n"
            os.write(state["fd"], line.encode("utf-8", "surrogateescape"))
        except Exception:
            pass

    def __getitem__(self, key):  # type: ignore[no-untyped-def]
        if self is not target:
            return original(self, key)
        try:
            value = original(self, key)
        except KeyError:
            _record(key, False)
            raise
        _record(key, True)
        return value

    __getitem__._gitrun_env = True  # type: ignore[attr-defined]
    __getitem__.__wrapped__ = original  # type: ignore[attr-defined]
    environ_class.__getitem__ = __getitem__  # type: ignore[method-assign]

    def _close() -> None:
        if state["fd"] >= 0:
            try:
                os.close(state["fd"])
            except OSError:
                pass
            state["fd"] = -1

    atexit.register(_close)


try:
    _install()
except Exception:
    pass
