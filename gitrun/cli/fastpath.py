"""Parse a recording without click.

``git run [OPTIONS] -- COMMAND...`` is what users type on every run, so its start-up time is part of
every run's cost (docs/benchmarks.md). This parser is built from the same declaration as the click
group (``gitrun.runner.options.RECORD_OPTIONS``) and accepts those options in their plain forms;
anything else (an option it does not know, a number to check, ``--help``, a subcommand) returns None
and goes to the click application, which explains errors. ``tests/test_cli_fastpath.py`` checks
that both parsers build the same ``RecordOptions``. No click import here: that is the point.
"""

from __future__ import annotations

import gc
from typing import Any

from gitrun.runner.options import RECORD_OPTIONS, OptionSpec, RecordOptions
from gitrun.store.loading import preload_git_library

# Every spelling of every option the fast path parses itself (numbers are left to click's checks).
_BY_FLAG: dict[str, OptionSpec] = {flag: spec for spec in RECORD_OPTIONS if spec.min_number is None
                                   for flag in spec.flags}


def parse_record_args(args: list[str]) -> RecordOptions | None:
    """A RecordOptions for a plain recording, or None when click must parse ``args``."""
    if "--" not in args:
        return None
    split = args.index("--")
    before, command = args[:split], args[split + 1:]
    if not command:
        return None
    values: dict[str, Any] = {spec.dest: spec.default for spec in RECORD_OPTIONS}
    index = 0
    while index < len(before):
        token = before[index]
        option, has_inline, inline = token.partition("=")
        spec = _BY_FLAG.get(token)
        if spec is not None and spec.kind == "flag":
            values[spec.dest] = True
        elif spec is not None and index + 1 < len(before):
            index += 1
            _store(values, spec, before[index])
        elif has_inline and option.startswith("--") and option in _BY_FLAG and _BY_FLAG[option].kind != "flag":
            _store(values, _BY_FLAG[option], inline)
        else:
            return None  # anything unusual: click parses it and explains errors
        index += 1
    extra = {spec.dest: values[spec.dest] for spec in RECORD_OPTIONS if spec.feature}
    return RecordOptions(command=command, message=values["message"], name=values["name"],
                         tags=list(values["tags"]), quiet=values["quiet"], extra=extra)


def run_recording(options: RecordOptions) -> int:
    """Record a run, whichever parser built ``options``: git's library first (the cheap way), then the recorder."""
    preload_git_library()
    from gitrun.commands.record import record  # after it: see gitrun.store.loading

    gc.freeze()  # what the imports made lives as long as the process: keep it out of later collections
    gc.enable()  # main() turned collection off for the imports
    return record(options)


def _store(values: dict[str, Any], spec: OptionSpec, value: str) -> None:
    values[spec.dest] = (*values[spec.dest], value) if spec.kind == "multiple" else value
