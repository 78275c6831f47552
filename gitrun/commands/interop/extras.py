"""Optional packages of the import/export commands: imported on use, with one line naming the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from gitrun.errors import UsageError


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or refuse with the pip line that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise UsageError(f"this command needs the '{module.split('.')[0]}' package ({err})",
                         hint=f"pip install 'gitrun[{extra}]'") from None
