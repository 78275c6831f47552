"""gitrun's Python startup hook (loaded because ``git run`` put this folder on PYTHONPATH).

It runs inside the user's interpreter, which may belong to another environment without gitrun
installed: standard library only. It

1. runs the ``sitecustomize`` this one shadows, if there is one further down ``sys.path``;
2. imports every ``_gitrun_*.py`` module beside it in sorted order, each in its own try/except,
   so a failing one never breaks the user's script;
3. takes its folder off ``sys.path`` again, so the script's imports resolve as without gitrun
   (PYTHONPATH keeps it, so Python processes the script starts get the hook too).

Nothing here prints anything; ``GITRUN_DEBUG=1`` shows hook failures on stderr.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _same_dir(entry: str) -> bool:
    try:
        return os.path.abspath(entry or os.curdir) == _HERE
    except Exception:
        return False


def _debug(what: str, err: BaseException) -> None:
    if os.environ.get("GITRUN_DEBUG"):
        sys.stderr.write(f"gitrun startup hook: {what} failed: {type(err).__name__}: {err}\n")


def _chain() -> None:
    import importlib.machinery
    import importlib.util

    others = [entry for entry in sys.path if not _same_dir(entry)]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    saved = sys.modules.get("sitecustomize")
    sys.modules["sitecustomize"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        if saved is not None:
            sys.modules["sitecustomize"] = saved


def _load_modules() -> None:
    import importlib.util

    try:
        names = sorted(name for name in os.listdir(_HERE)
                       if name.startswith("_gitrun_") and name.endswith(".py"))
    except OSError:
        return
    for name in names:
        try:
            module_name = name[:-3]
            spec = importlib.util.spec_from_file_location(module_name, os.path.join(_HERE, name))
            if spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        except BaseException as err:  # the user's script must run regardless
            sys.modules.pop(name[:-3], None)
            _debug(name, err)


try:
    _chain()
except BaseException as _err:
    _debug("chained sitecustomize", _err)

if os.environ.get("GITRUN_SPOOL"):
    _load_modules()

sys.path[:] = [_entry for _entry in sys.path if not _same_dir(_entry)]
