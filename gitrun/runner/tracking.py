"""Parameters and metrics of a recording: the record extension and the result contributor.

Sources, each spooled as soon as it is known (so a crashed run keeps it):

- parameters (``params.jsonl``): the command line (``argv``), ``--params FILE`` and parameter files
  named on the command line (``file:<path>``), the startup hook's ``argparse`` / ``click`` values,
  ``gitrun.log_params`` (``api``). Later records win for the same key.
- metric points (``metrics.jsonl``): ``gitrun.log``, the console parser (``"src": "console"``),
  the system sampler (``system/...``); ``--metrics FILE`` is read when the run is stored.
  A metric logged through the API drops console points of the same name (no double counting).
  A console name that is not a series (``gitrun.model.console``: printed
  once while setting up) is a console fact, not a metric.

The contributor turns the spool into ``metrics/<name>.tsv`` series, the note's ``[params]``,
``[params_source]``, ``[metrics]`` (last values, ``system/`` excluded), ``[summary]`` and
``[console]`` (``facts``; ``skipped_bytes``/``skipped_lines`` when output came too fast to parse).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from gitrun.capture.console_metrics import MAX_LINE, ConsoleConfig, ConsoleParser, config_from_settings
from gitrun.capture.metric_files import read_metric_file
from gitrun.capture.params import load_param_file, looks_like_param_file, param_files_in_argv, params_from_argv
from gitrun.model.console import ConsoleFacts
from gitrun.model.series import CONSOLE_SOURCE, SeriesPoint, series_path
from gitrun.runner.ending import Ending
from gitrun.runner.extensions import RecordExtension, Recording
from gitrun.runner.process import OutputConsumer
from gitrun.runner.series_stream import SERIES_BLOCK_BYTES, BuiltSeries, SeriesBuilder, last_values
from gitrun.runner.startup_hook import add_startup_hook
from gitrun.store.jsonl import (
    METRIC_FILES_FILE,
    METRICS_FILE,
    PARAMS_FILE,
    append_records,
    read_line_blocks,
    read_records,
)
from gitrun.store.spool import Spool
from gitrun.store.trees import TreeContent

CONTEXT_FILE = "tracking.json"  # {"root", "started", "given"}: for parameter files the run reads
OPENED_FILE = "opened.jsonl"  # written by the data feature's startup hook: {"path": absolute} per file read
SERIES_DIR = "series"  # in the spool: the TSV files of the series being stored
CONSOLE_STATE_FILE = "console-metrics.json"  # {"skipped_bytes", "skipped_lines"}: chunks not parsed
FILE_SOURCE = "file"


def _warn(text: str) -> None:
    print(f"gitrun: warning: {text}", file=sys.stderr, flush=True)


def _relative(path: Path, rec: Recording) -> str:
    try:
        return path.resolve().relative_to(rec.paths.workdir.resolve()).as_posix()
    except ValueError:
        return str(path)


# Chunks that may hold a metric: a digit, nan/inf, or a line that opens a table (a counter word in a
# header; a section such as "| rollout/  |" of stable-baselines3). One byte of each is looked for
# first (memchr: tens of GB/s); the words only when one of those bytes is there.
_DIGITS = tuple(bytes([digit]) for digit in b"0123456789")
_WORD_BYTES = (b"n", b"N", b"f", b"F", b"p", b"t", b"/")
_WORDS = (b"nan", b"NaN", b"NAN", b"inf", b"Inf", b"INF", b"poch", b"ter", b"tep", b"atch", b"/ ")
# Parsing may use this share of the run's wall time (after a first allowance) and never more:
# under a flood of output the chunks beyond it are skipped (and counted), so the child never waits.
PARSE_SHARE = 0.05
PARSE_ALLOWANCE_S = 0.25


# Every byte but the letters: a chunk that is only numbers (``seq``) names no metric.
_NOT_LETTERS = bytes(byte for byte in range(256) if not (chr(byte).isascii() and chr(byte).isalpha()))


def _may_hold_metrics(data: bytes, partial: bytes = b"") -> bool:
    if partial:
        data = partial + data
    if any(digit in data for digit in _DIGITS):
        return True  # a table's rows are numbers only: the caller checks for letters (no_name)
    return any(byte in data for byte in _WORD_BYTES) and any(word in data for word in _WORDS)


def _no_name(data: bytes) -> bool:
    return not data.translate(None, _NOT_LETTERS)


class ConsoleMetrics:
    """An output consumer: complete lines -> metric points appended to the spool at once.

    It runs in the loop that copies the child's output, so it must be cheap: a chunk without a
    digit (``yes``) is passed over in one scan, and when parsing has used its share of the time the
    chunk is skipped and counted (``console-metrics.json``) instead of slowing the child down."""

    def __init__(self, spool: Spool, config: ConsoleConfig) -> None:
        self.path = spool.file(METRICS_FILE)
        self.state_path = spool.file(CONSOLE_STATE_FILE)
        self.parser = ConsoleParser(config)
        self.partial: dict[str, bytes] = {}
        self.torn: set[str] = set()  # streams whose current line began in skipped output
        self.started = time.perf_counter()
        self.spent = 0.0
        self.skipped_bytes = 0
        self.skipped_lines = 0

    def __call__(self, stream: str, data: bytes) -> None:
        begin = time.perf_counter()
        if self.spent > PARSE_ALLOWANCE_S + PARSE_SHARE * (begin - self.started):
            self._skip(stream, data)
            return
        self._emit(self._lines(stream, data))
        self.spent += time.perf_counter() - begin

    def _lines(self, stream: str, data: bytes) -> list[str]:
        if stream in self.torn:  # the line began in skipped output: drop its end too
            cut = data.find(b"\n")
            if cut < 0:
                return []
            self.torn.discard(stream)
            data = data[cut + 1:]
        partial = self.partial.get(stream, b"")
        if not _may_hold_metrics(data, partial) or (self.parser.table is None and _no_name(partial + data)):
            cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
            self.partial[stream] = (partial + data)[-MAX_LINE:] if cut < 0 else data[cut + 1:][-MAX_LINE:]
            return []
        buffered = partial + data
        if b"\r" in buffered:
            buffered = buffered.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        cut = buffered.rfind(b"\n")
        self.partial[stream] = buffered[cut + 1:][-MAX_LINE:]
        if cut < 0:
            return []
        return buffered[:cut].decode("utf-8", "replace").split("\n")

    def _skip(self, stream: str, data: bytes) -> None:
        first = not self.skipped_bytes
        self.skipped_bytes += len(data)
        self.skipped_lines += data.count(b"\n")
        self.partial.pop(stream, None)
        self.torn.add(stream)
        if first:
            self._save_state()

    def _save_state(self) -> None:
        state = {"skipped_bytes": self.skipped_bytes, "skipped_lines": self.skipped_lines}
        with contextlib.suppress(OSError):
            self.state_path.write_text(json.dumps(state), encoding="utf-8")

    def flush(self) -> None:
        rest = [data.decode("utf-8", "replace") for data in self.partial.values() if data]
        self.partial.clear()
        self._emit(rest)
        if self.skipped_bytes:
            self._save_state()

    def _emit(self, lines: list[str]) -> None:
        parse = self.parser.parse_line
        records = []
        now = 0.0
        for line in lines:
            points = parse(line) if line else None
            if not points:
                continue
            now = now or round(time.time(), 3)
            for point in points:
                record: dict[str, Any] = {"name": point.name, "step": point.step, "time": now,
                                          "value": point.value, "src": CONSOLE_SOURCE}
                if point.counted:
                    record["counted"] = True
                records.append(record)
        if records:
            append_records(self.path, records)


class ParamsMetricsExtension(RecordExtension):
    def __init__(self, rec: Recording) -> None:
        super().__init__(rec)
        self.console: ConsoleMetrics | None = None

    def prepare(self) -> None:
        records: list[dict[str, Any]] = []
        files = [Path(p) if os.path.isabs(p) else self.rec.cwd / p for p in self.rec.options.get("params_files") or ()]
        for path in files:
            try:
                records.append({"source": f"file:{_relative(path, self.rec)}", "params": load_param_file(path)})
            except (OSError, ValueError) as err:
                _warn(f"--params {path}: not recorded: {getattr(err, 'strerror', None) or err}")
        for path in param_files_in_argv(self.rec.command, self.rec.cwd):
            if any(path.resolve() == f.resolve() for f in files):
                continue
            try:
                records.append({"source": f"file:{_relative(path, self.rec)}", "params": load_param_file(path)})
            except (OSError, ValueError):
                continue  # a file on the command line that is not a parameter file
        overrides: set[str] = set()
        argv_params = params_from_argv(self.rec.command, overrides)
        options = {key: value for key, value in argv_params.items() if key not in overrides}
        if options:
            records.append({"source": "argv", "kind": "options", "params": options})
        if overrides:
            records.append({"source": "argv", "kind": "overrides",
                            "params": {key: argv_params[key] for key in argv_params if key in overrides}})
        context = {"root": str(self.rec.paths.workdir), "started": time.time(),
                   "program": main_program(self.rec.command),
                   "given": [str(path.resolve()) for path in files]
                   + [str(path.resolve()) for path in param_files_in_argv(self.rec.command, self.rec.cwd)]}
        self.rec.spool.file(CONTEXT_FILE).write_text(json.dumps(context), encoding="utf-8")
        if records:
            # Spooled only: the note gets them when the run is stored (argparse/click may refine them).
            append_records(self.rec.spool.file(PARAMS_FILE), records)
        metric_files = list(self.rec.options.get("metrics_files") or ())
        if metric_files:
            self.rec.spool.file(METRIC_FILES_FILE).write_text(
                json.dumps({"cwd": str(self.rec.cwd), "files": metric_files}), encoding="utf-8")
        if self._console_enabled():
            try:
                config = config_from_settings(self.rec.settings.section("console_metrics"))
            except ValueError as err:
                _warn(f"{err}; console metrics use the built-in patterns only")
                config = ConsoleConfig()
            if config.enabled:
                self.console = ConsoleMetrics(self.rec.spool, config)

    def _console_enabled(self) -> bool:
        return not self.rec.options.get("no_console_metrics")

    def child_env(self, env: dict[str, str]) -> None:
        if self.rec.options.get("no_autolog"):
            env["GITRUN_NO_AUTOLOG"] = "1"
            return
        add_startup_hook(env)

    def consumers(self) -> list[OutputConsumer]:
        return [self.console] if self.console is not None else []

    def stop(self) -> None:
        if self.console is not None:
            self.console.flush()


LIBRARY_SOURCES = ("argparse", "click")


def main_program(command: list[str]) -> str | None:
    """The file name of the Python program a command runs (``train.py``), when it names one: the
    last ``.py`` argument, so that launchers (``python -m torch.distributed.run train.py``,
    ``accelerate launch train.py``) are not taken for it; else the module of ``-m``."""
    scripts = [arg for arg in command if arg.endswith(".py") and not arg.startswith("-")]
    if scripts:
        return os.path.basename(scripts[-1])
    for index, arg in enumerate(command[:-1]):
        if arg == "-m":
            return command[index + 1].rsplit(".", 1)[-1] + ".py"
    return None


def _library_records(records: list[dict[str, Any]], program: str | None) -> set[int]:
    """Which argparse/click records to keep: those of the command's own program (not of a launcher
    such as torchrun, nor of tools the program runs), else those of the first process reporting."""
    library = [(index, r) for index, r in enumerate(records) if r.get("source") in LIBRARY_SOURCES]
    if not library:
        return set()
    if program:
        mine = {index for index, record in library if _runs_program(str(record.get("argv0", "")), program)}
        if mine:
            return mine
    first_pid = library[0][1].get("pid")
    return {index for index, r in library if r.get("pid") == first_pid}


def _runs_program(argv0: str, program: str) -> bool:
    name = os.path.basename(argv0)
    # python -m pkg runs pkg/__main__.py
    return name == program or (name == "__main__.py" and os.path.basename(os.path.dirname(argv0)) == program[:-3])


def merge_params(records: list[dict[str, Any]], program: str | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """Flat params and their sources; later records win. Once argparse or click reported what they
    parsed, the command line's ``--option`` guesses are dropped (the parsers know the real names and
    types); ``key=value`` overrides stay. Of the parser records, only the main program's count."""
    params: dict[str, Any] = {}
    sources: dict[str, str] = {}
    keep = _library_records(records, program)
    parsed = bool(keep)
    for index, record in enumerate(records):
        if record.get("source") in LIBRARY_SOURCES and index not in keep:
            continue
        values = record.get("params")
        source = str(record.get("source", "unknown"))
        if not isinstance(values, dict) or (parsed and source == "argv" and record.get("kind") == "options"):
            continue
        for key, value in values.items():
            if value is None:
                continue
            params[str(key)] = value
            sources[str(key)] = source
    return params, sources


def read_param_files(spool: Spool) -> list[dict[str, Any]]:
    """Parameter files a Python run opened (seen by the startup hook): ``params.yaml``,
    ``conf/model.yaml`` ... inside the working tree, unchanged since the run started."""
    try:
        context = json.loads(spool.file(CONTEXT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    root = Path(str(context.get("root", "")))
    given = set(context.get("given", []))
    started = float(context.get("started", 0))
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    for record in read_records(spool.file(OPENED_FILE)):
        text = record.get("path")
        if not isinstance(text, str) or text in seen or text in given:
            continue
        seen.add(text)
        path = Path(text)
        try:
            relative = path.relative_to(root)
        except ValueError:
            continue
        if ".git" in relative.parts or not looks_like_param_file(relative):
            continue
        try:
            if path.stat().st_mtime > started:
                continue  # written by the run itself: an output, not its configuration
            records.append({"source": f"file:{relative.as_posix()}", "params": load_param_file(path)})
        except (OSError, ValueError):
            continue
    return records


def spooled_series(spool: Spool, with_files: bool = False,
                   folder: Path | None = None) -> tuple[dict[str, BuiltSeries], dict[str, float]]:
    """The series of every point in the spool (and in ``--metrics`` files), read by streaming, and
    the console facts (``model.console``: their points are in no series).

    With a ``folder``, each series is written there as a TSV file (constant memory); without, the
    points are kept in memory. Console duplicates of API metrics are dropped (``series_stream``).
    """
    builder = SeriesBuilder(folder)
    facts = ConsoleFacts()
    for block in read_line_blocks(spool.file(METRICS_FILE), SERIES_BLOCK_BYTES):
        records = builder.add_block(block)  # None: plain points only, taken as columns (no console facts)
        if records is not None:
            facts.add(records)
    if with_files:
        builder.add(metric_file_points(spool))
    found = facts.facts()  # numbers printed once while setting up: kept apart, never a metric
    return builder.finish(drop_console=found), found


def metric_file_points(spool: Spool) -> list[dict[str, Any]]:
    try:
        spec = json.loads(spool.file(METRIC_FILES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    points: list[dict[str, Any]] = []
    cwd = Path(str(spec.get("cwd", ".")))
    for name in spec.get("files", []):
        path = Path(name) if os.path.isabs(name) else cwd / name
        try:
            found = read_metric_file(path)
        except (OSError, ValueError) as err:
            _warn(f"--metrics {name}: not read: {err}")
            continue
        points.extend({**point, "src": FILE_SOURCE} for point in found)
    return points


def console_state(spool: Spool) -> dict[str, Any]:
    """What the console parser left in the spool about itself: output it skipped under load."""
    try:
        state = json.loads(spool.file(CONSOLE_STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(state, dict):
        return {}
    return {key: int(state[key]) for key in ("skipped_bytes", "skipped_lines") if isinstance(state.get(key), int)}


def console_updates(spool: Spool, facts: dict[str, float]) -> dict[str, Any]:
    """The note's ``[console]``: the facts, and what was skipped under load."""
    console = console_state(spool)
    if facts:
        console["facts"] = facts
    return {"console": console} if console else {}


def params_updates(spool: Spool) -> dict[str, Any]:
    """The note's ``[params]`` and ``[params_source]`` from the spool."""
    updates: dict[str, Any] = {}
    try:
        program = json.loads(spool.file(CONTEXT_FILE).read_text(encoding="utf-8")).get("program")
    except (OSError, ValueError, AttributeError):
        program = None
    records = read_param_files(spool) + list(read_records(spool.file(PARAMS_FILE)))
    params, sources = merge_params(records, program if isinstance(program, str) else None)
    if params:
        updates["params"] = params
        updates["params_source"] = sources
    return updates


def series_updates(built: dict[str, BuiltSeries]) -> dict[str, Any]:
    """The note's ``[metrics]`` (last values, system series excluded) and ``[summary]``."""
    if not built:
        return {}
    return {"metrics": last_values(built), "summary": {name: series.summary for name, series in built.items()}}


def tracking_updates(spool: Spool, with_files: bool = False) -> tuple[dict[str, list[SeriesPoint]], dict[str, Any]]:
    """(series by name, note updates) from the spool, in memory (a running run shown live)."""
    built, facts = spooled_series(spool, with_files)
    updates = {**params_updates(spool), **series_updates(built), **console_updates(spool, facts)}
    return {name: series.points or [] for name, series in built.items()}, updates


def tracking_result(spool: Spool, ending: Ending) -> tuple[dict[str, TreeContent], dict[str, Any]]:
    """Stored series (streamed to files, constant memory) and the note's params, metrics, summary."""
    built, facts = spooled_series(spool, with_files=True, folder=spool.file(SERIES_DIR))
    updates = {**params_updates(spool), **series_updates(built), **console_updates(spool, facts)}
    files: dict[str, TreeContent] = {series_path(name): series.path for name, series in built.items()
                                     if series.path is not None}
    if not updates.get("metrics"):
        updates.pop("metrics", None)
    return files, updates
