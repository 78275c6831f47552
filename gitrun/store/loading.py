"""Loading pygit2 cheaply, before anything else imports it (start-up time is part of every run's cost).

Imports nothing at module level beyond the standard library: ``cli/fastpath.py`` and ``cli/group.py``
call it first, so that every later ``import pygit2`` finds the module loaded.
"""

from __future__ import annotations

import os
import sys


def preload_git_library() -> None:
    """Import pygit2 without loading the system's CA bundle, which it does at import (10-15 ms).

    gitrun never uses pygit2's TLS (the git CLI does every network operation), so the bundle file
    is hidden while pygit2 starts, when a CA directory is there to take its place (pygit2 fails
    to import when it has neither); certificates would still verify through that directory.
    """
    if "pygit2" in sys.modules:
        return
    saved = os.environ.get("SSL_CERT_FILE")
    try:
        import ssl

        os.environ["SSL_CERT_FILE"] = ""
        if ssl.get_default_verify_paths().capath is not None:
            import pygit2  # noqa: F401
    except Exception:
        pass  # the plain import below says what is wrong
    finally:
        if saved is None:
            os.environ.pop("SSL_CERT_FILE", None)
        else:
            os.environ["SSL_CERT_FILE"] = saved
