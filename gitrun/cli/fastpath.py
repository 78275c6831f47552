"""Parse the common recording without click, and import pygit2 cheaply.

``git run [-m MSG] [--name NAME] [--tag TAG]... [-q] -- COMMAND...`` is what users type on every run,
so its start-up time is part of every run's cost (docs/benchmarks.md). This parser accepts exactly
those options; anything else (another option, ``--help``, a subcommand) returns None and goes to
the click application, which defines every option and its help. ``tests/test_cli_fastpath.py``
checks that both parsers build the same ``RecordOptions``.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any

from gitrun.commands.record_options import FEATURE_DEFAULTS, RecordOptions

_VALUE_OPTIONS = {"-m": "message", "--message": "message", "--name": "name", "--tag": "tags"}
_FLAG_OPTIONS = {"-q": "quiet", "--quiet": "quiet"}


def parse_record_args(args: list[str]) -> RecordOptions | None:
    """A RecordOptions for a plain recording, or None when click must parse ``args``."""
    if "--" not in args:
        return None
    split = args.index("--")
    before, command = args[:split], args[split + 1:]
    values: dict[str, Any] = {"message": "", "name": None, "tags": [], "quiet": False}
    index = 0
    while index < len(before):
        token = before[index]
        option, has_inline, inline = token.partition("=")
        if token in _FLAG_OPTIONS:
            values[_FLAG_OPTIONS[token]] = True
        elif option in _VALUE_OPTIONS and option.startswith("--") and has_inline:
            _store(values, _VALUE_OPTIONS[option], inline)
        elif token in _VALUE_OPTIONS and index + 1 < len(before):
            index += 1
            _store(values, _VALUE_OPTIONS[token], before[index])
        else:
            return None  # anything unusual: click parses it and explains errors
        index += 1
    if not command:
        return None
    return RecordOptions(command=command, message=values["message"], name=values["name"], tags=values["tags"],
                         quiet=values["quiet"], extra=dict(FEATURE_DEFAULTS))


def run_recording(options: RecordOptions) -> int:
    """Record a run, whichever parser built ``options``: pygit2 first (the cheap way), then the recorder."""
    import_pygit2()
    from gitrun.commands.record import record  # after pygit2: see import_pygit2

    gc.freeze()  # what the imports made lives as long as the process: keep it out of later collections
    gc.enable()  # main() turned collection off for the imports
    return record(options)


def _store(values: dict[str, Any], key: str, value: str) -> None:
    if key == "tags":
        values["tags"].append(value)
    else:
        values[key] = value


def import_pygit2() -> None:
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
