"""gitrun: a git-native experiment tracker.

The in-script API (``gitrun.log``, ``gitrun.log_params`` ...) is re-exported here lazily so that
``import gitrun`` stays cheap for scripts that never call it.
"""

from __future__ import annotations

__version__ = "0.1.0"

_API = ("log", "log_params", "log_artifact", "tag", "init", "run", "flush", "current_run")


def __getattr__(name: str) -> object:
    """``gitrun.log`` and friends, imported from ``gitrun.api`` on first use."""
    if name in _API:
        from gitrun import api

        return getattr(api, name)
    raise AttributeError(f"module 'gitrun' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
