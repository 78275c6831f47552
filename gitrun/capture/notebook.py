"""The Jupyter notebook a run was started from: where its ``.ipynb`` is saved, and the source of
the cells the kernel executed (what ran, saved or not).

Only for runs recorded in-process (``gitrun.init()``, ``gitrun.run``, the drop-ins and callbacks)
inside an IPython kernel. The notebook's path is looked for, in order: ``__vsc_ipynb_file__``
(VS Code), ``__session__`` (ipykernel sets it from the server's ``JPY_SESSION_NAME``), the
``JPY_SESSION_NAME`` variable itself, then the sessions of the running Jupyter servers
(``/api/sessions``, matched by the kernel id in the kernel's connection file; one second at most).
Every step is best effort: a failure leaves the path unknown, never the run unrecorded.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

NOTEBOOK_SUFFIX = ".ipynb"


def kernel_shell() -> Any:
    """The IPython shell of this process when it is a Jupyter kernel (not a terminal IPython); else None."""
    if "ipykernel" not in sys.modules:
        return None
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:
        return None
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


def notebook_path(shell: Any) -> tuple[Path | None, str]:
    """(the saved notebook, how it was found) or (None, why not)."""
    user_ns = getattr(shell, "user_ns", {}) or {}
    for source, value in (("__vsc_ipynb_file__", user_ns.get("__vsc_ipynb_file__")),
                          ("__session__", user_ns.get("__session__")),
                          ("JPY_SESSION_NAME", os.environ.get("JPY_SESSION_NAME"))):
        path = _notebook_file(value)
        if path is not None:
            return path, source
    try:
        path = _from_server_sessions()
    except Exception:
        path = None
    if path is not None:
        return path, "jupyter server sessions"
    return None, "not saved, or not found (no __session__, JPY_SESSION_NAME or server session for this kernel)"


def _notebook_file(value: object) -> Path | None:
    if not isinstance(value, str) or not value.endswith(NOTEBOOK_SUFFIX):
        return None
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    return path if path.is_file() else None


def _kernel_id() -> str | None:
    try:
        from ipykernel import get_connection_file

        name = Path(get_connection_file()).name
    except Exception:
        return None
    return name.removeprefix("kernel-").removesuffix(".json") if name.startswith("kernel-") else None


def _running_servers() -> list[dict[str, Any]]:
    for module in ("jupyter_server.serverapp", "notebook.notebookapp"):
        try:
            imported = __import__(module, fromlist=["list_running_servers"])
            return list(imported.list_running_servers())
        except Exception:
            continue
    return []


def _from_server_sessions() -> Path | None:
    import urllib.request  # only here: `git run` itself never needs it

    kernel = _kernel_id()
    if kernel is None:
        return None
    for server in _running_servers():
        url = str(server.get("url", "")).rstrip("/") + "/api/sessions"
        request = urllib.request.Request(url, headers={"Authorization": f"token {server.get('token', '')}"})
        with urllib.request.urlopen(request, timeout=1.0) as response:  # a local server: answers at once
            sessions = json.loads(response.read())
        for session in sessions:
            if (session.get("kernel") or {}).get("id") == kernel:
                root = server.get("root_dir") or server.get("notebook_dir") or ""
                path = _notebook_file(os.path.join(root, str(session.get("path") or (session.get("notebook") or {})
                                                                .get("path", ""))))
                if path is not None:
                    return path
    return None


def executed_cells(shell: Any) -> list[str]:
    """The source of every cell the kernel executed, in order (IPython's ``In``)."""
    cells = (getattr(shell, "user_ns", {}) or {}).get("In")
    if not isinstance(cells, list):
        cells = list(getattr(getattr(shell, "history_manager", None), "input_hist_raw", []) or [])
    return [str(cell) for cell in cells[1:]]  # In[0] is an empty placeholder
