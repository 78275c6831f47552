"""gitrun: a git-native experiment tracker.

The in-script API (``gitrun.log``, ``gitrun.log_params`` ...) is re-exported here lazily so that
``import gitrun`` stays cheap for scripts that never call it.
"""

from __future__ import annotations

__version__ = "0.1.0"
