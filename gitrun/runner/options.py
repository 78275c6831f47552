"""The options of a recording, declared once: ``RECORD_OPTIONS``.

Both command-line parsers are built from this declaration: the click-free fast path
(``gitrun.cli.fastpath``, which keeps click out of every run's start-up) and the click group
(``gitrun.cli.group``, which adds help and validation). ``tests/test_cli_fastpath.py`` checks that
they build the same ``RecordOptions``. This module imports nothing heavy: it is on the path of
every ``git run -- CMD``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

OptionKind = Literal["value", "flag", "multiple"]


@dataclass(frozen=True)
class OptionSpec:
    """One option of ``git run [OPTIONS] -- CMD``."""

    flags: tuple[str, ...]  # as typed: ("-m", "--message")
    dest: str  # the keyword it is stored under (a RecordOptions field, else a key of ``extra``)
    kind: OptionKind
    help: str
    default: Any = None
    metavar: str | None = None
    min_number: float | None = None  # a number with a lower bound: only click parses (and checks) it
    feature: bool = True  # stored in RecordOptions.extra for the feature extensions


RECORD_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(("-m", "--message"), "message", "value", "Why this run: the question it answers.",
               default="", feature=False),
    OptionSpec(("--name",), "name", "value", "A unique human name for the run (default: generated).",
               feature=False),
    OptionSpec(("--tag",), "tags", "multiple", "Tag the run (repeatable).", default=(), feature=False),
    OptionSpec(("-q", "--quiet"), "quiet", "flag", "Print nothing of gitrun's own while recording.",
               default=False, feature=False),
    OptionSpec(("--params",), "params_files", "multiple",
               "Record FILE's content (YAML, JSON, TOML) as parameters (repeatable).", default=(), metavar="FILE"),
    OptionSpec(("--metrics",), "metrics_files", "multiple",
               "Read metrics from FILE (JSON, YAML, CSV with a step column) when the run ends (repeatable).",
               default=(), metavar="FILE"),
    OptionSpec(("--outputs",), "outputs_paths", "multiple",
               "Watch PATH for outputs instead of the whole working tree (repeatable).", default=(), metavar="PATH"),
    OptionSpec(("--no-autolog",), "no_autolog", "flag", "Do not inject the Python startup hook into the command.",
               default=False),
    OptionSpec(("--no-console-metrics",), "no_console_metrics", "flag", "Do not read metrics from console output.",
               default=False),
    OptionSpec(("--sample-interval",), "sample_interval", "value", "System monitoring interval (default 5 s).",
               metavar="SECONDS", min_number=0.1),
    OptionSpec(("--data",), "data_specs", "multiple", "Record a dataset's content hash (repeatable).",
               default=(), metavar="[NAME[:VERSION]=]PATH"),
    OptionSpec(("--expect",), "expect", "value", 'A condition checked when the run ends, e.g. "metrics.acc > 0.9".',
               metavar="EXPR"),
)

# The feature options and their values when not given (``RecordOptions.extra``).
FEATURE_DEFAULTS: dict[str, Any] = {spec.dest: spec.default for spec in RECORD_OPTIONS if spec.feature}


@dataclass
class RecordOptions:
    command: list[str]
    message: str = ""
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    quiet: bool = False
    extra: dict[str, Any] = field(default_factory=lambda: dict(FEATURE_DEFAULTS))  # the feature options
