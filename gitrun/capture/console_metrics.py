"""Metric points in console output (pure parsing; no I/O).

Recognised without configuration (docs/format.md, "Metrics", is the reference):

- ``name: value``, ``name=value``, ``'name': value`` anywhere in a line (``loss: 0.25``,
  ``acc=0.91``, tqdm's ``[..., loss=0.3]``, Hugging Face's ``{'loss': 2.1, 'epoch': 0.5}``);
- ``name value`` when it stands between separators (``|``, ``,``, ``;``, `` - ``, tabs, brackets,
  another pair) on a line that carries a counter or another pair: ``iter 40: loss 2.10, time 31.2ms``.
  Segments that are not pairs (``120/120 [====]``, ``2s 15ms/step``) are passed over;
- a line that is a JSON object: its numbers, nested names joined with ``/``;
- a table: a header line naming a counter column (``epoch  train_loss  valid_loss  time``, fastai
  and scikit-learn print these) and the rows of numbers under it.

Names: words written before a ``name:`` belong to it, so ``number of parameters: 729`` is
``number_of_parameters``; a first word ``train``, ``val``, ``test``, ``eval`` ... (a *split*) becomes
a ``/`` prefix: ``step 500 train loss: 2.48 test loss: 2.47`` gives ``train/loss`` and
``test/loss``. A name printed as one token keeps its spelling (``val_loss``, ``train/acc``).

Values: numbers, ``nan`` and ``inf`` (they are values too), ``tensor(0.5)``. A unit after the
number names the metric (``time 31.2ms`` is ``time_ms``, ``12.5 GB`` is ``_gb``, ``3.1it/s`` is
``_it_per_s``); ``%`` keeps the name (``acc: 91.5%`` is ``acc`` = 91.5); a number glued to any other
word is not a value.

Counters: a counter word (``step``, ``global_step``, ``iter``, ``iteration``, ``it``, ``epoch``,
``batch``; also ``epoch 3/10``) with a whole number gives the line's step instead of a metric,
``step`` first, ``batch`` last; the others stay metrics. A line that carries a counter (or a
progress fraction such as tqdm's ``10/100 [``) is *counted*; the newest counter also applies to
the lines after it that have none (Keras prints ``Epoch 3/10`` on a line of its own).

Whether a name is a metric is decided for the run as a whole (``gitrun.model.console``): a name
printed on a counted line, or with two different values, is a series; a number printed once while
a script sets up (``vocab size: 27``) is a console fact, kept apart from metrics.

Configured patterns (``[tool.gitrun.console_metrics] patterns = [...]``) are regular expressions
with named groups: ``name`` + ``value`` give one point, ``step`` the step, and any other named
group is a metric of that name; what they match is always a metric.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

STEP_WORDS = ("step", "global_step", "iter", "iteration", "it", "epoch", "batch")
_STEP_PRIORITY = {word: index for index, word in enumerate(STEP_WORDS)}
SPLITS = frozenset(("train", "training", "val", "valid", "validation", "test", "testing", "eval",
                    "evaluation", "dev"))
# Numbers a progress bar prints that are never a quantity of the experiment.
IGNORED_NAMES = frozenset(("eta", "v_num", "remaining", "pid", "elapsed", "rank", "seed"))
MAX_LINE = 65536
MAX_NAME = 100
MAX_PAIRS = 256  # per line: a progress line holds a few dozen; more is data, not metrics
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
_NUMBER = (r"[-+]?(?:\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
           r"|[-+]?(?:nan|NaN|NAN|infinity|Infinity|inf|Inf|INF)(?![A-Za-z])")
_UNIT_SUFFIX = {
    "ms": "ms", "us": "us", "µs": "us", "ns": "ns", "s": "s", "sec": "s", "secs": "s", "seconds": "s",
    "min": "min", "h": "h", "gb": "gb", "gib": "gib", "mb": "mb", "mib": "mib", "kb": "kb", "kib": "kib",
    "tb": "tb", "it/s": "it_per_s", "s/it": "s_per_it", "samples/s": "samples_per_s",
    "tok/s": "tok_per_s", "tokens/s": "tok_per_s", "img/s": "img_per_s", "%": "",
}
_SPACED_UNITS = r"samples/s|tokens/s|tok/s|img/s|it/s|s/it|seconds|secs|sec|ms|us|µs|ns|[GMKT]i?B"
_PAIR = re.compile(
    r"(?:(?P<q>['\"])(?P<qname>[A-Za-z_][^'\"\n]{0,99}?)(?P=q)|(?<![A-Za-z0-9_./\-])"
    r"(?P<name>[A-Za-z_](?:[A-Za-z0-9_./\-]{0,98}[A-Za-z0-9_])?))"
    r"(?P<sep>[ \t]*[:=][ \t]*|[ \t]+)"
    r"(?:tensor\(|\[[ \t]*)?(?P<num>" + _NUMBER + r")"
    r"(?:(?P<total>/\d+)|(?P<unit>%|(?:" + _SPACED_UNITS + r")(?![A-Za-z/])"
    r"|\ (?:" + _SPACED_UNITS + r")(?![A-Za-z/])|(?:s|min|h)(?![A-Za-z/])))?"
    r"(?=$|[\s,;|)\]}'\"]|[.:](?:\s|$))")
_KEY_BEFORE = re.compile(r"[A-Za-z_]\w*:[ \t]+$")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# XGBoost's "[10]\tvalidation_0-logloss:0.5", CatBoost's "10:\tlearn: 0.68": a leading iteration.
_LEADING_COUNTER = re.compile(r"\[?(\d+)\]?:?\t")
# stable-baselines3's tables: "| rollout/   |      |" opens a section, "|  ep_rew_mean | 22.5 |" a row.
_BOX_ROW = re.compile(r"\|\s*([A-Za-z_][\w./\-]*)\s*\|\s*(" + _NUMBER + r"|)\s*\|")
_PROGRESS = re.compile(r"(?:^|[\s|])\d+/\d+\s*[\[━]")
_SEPARATORS = re.compile(r"[,;|\t\[\](){}]|\s-\s")
_TABLE_SPLIT = re.compile(r"\s{2,}|\t|\s*\|\s*")
_MARKS = frozenset(":=|{,\t/")


@dataclass
class Point:
    name: str
    value: float
    step: int | None = None
    counted: bool = False  # the line carried a counter (or followed one): this name is a series


@dataclass
class ConsoleConfig:
    enabled: bool = True
    builtin: bool = True
    patterns: list[re.Pattern[str]] = field(default_factory=list)
    ignore: list[re.Pattern[str]] = field(default_factory=list)


def config_from_settings(section: Mapping[str, Any]) -> ConsoleConfig:
    """``[tool.gitrun.console_metrics]``: ``enabled``, ``builtin``, ``patterns``, ``ignore``.

    Raises ValueError (with the pattern named) for a pattern that is not a regular expression.
    """
    config = ConsoleConfig()
    if "enabled" in section:
        config.enabled = bool(section["enabled"])
    if "builtin" in section:
        config.builtin = bool(section["builtin"])
    for key, target in (("patterns", config.patterns), ("ignore", config.ignore)):
        raw = section.get(key, [])
        if isinstance(raw, str):
            raw = [raw]
        for text in raw if isinstance(raw, list) else []:
            try:
                target.append(re.compile(str(text)))
            except re.error as err:
                raise ValueError(f"console_metrics.{key}: '{text}' is not a regular expression: {err}")
    return config


def to_float(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def _whole(value: float) -> int | None:
    if not math.isfinite(value) or value != int(value) or abs(value) > 2**62:
        return None
    return int(value)


def may_hold_value(text: str) -> bool:
    """Whether a line has a digit, ``nan`` or ``inf``: the cheap test before any pattern runs."""
    if any(digit in text for digit in "0123456789"):
        return True
    lowered = text.lower()
    return "nan" in lowered or "inf" in lowered


@dataclass
class _Pair:
    name: str
    value: float
    counter: bool = False  # a counter word (epoch, step ...) with a whole number


@dataclass
class _Table:
    columns: list[str]
    counter: int  # index of the counter column


class ConsoleParser:
    """Lines of one run's output -> metric points. Keeps what a line may need from earlier ones:
    the newest counter (Keras prints ``Epoch 3/10`` alone) and the header of a table."""

    def __init__(self, config: ConsoleConfig | None = None) -> None:
        self.config = config or ConsoleConfig()
        self.context_step: int | None = None
        self.context_counted = False
        self.table: _Table | None = None
        self.box_section = ""

    def parse_line(self, line: str) -> list[Point]:
        config = self.config
        if not config.enabled or len(line) > MAX_LINE:
            return []
        if "\x1b" in line:
            line = _ANSI.sub("", line)
        line = line.strip()
        if not line:
            return []
        if config.ignore and any(pattern.search(line) for pattern in config.ignore):
            return []
        if config.patterns:
            custom = [_Pair(name, value, name.lower() in _STEP_PRIORITY and _whole(value) is not None)
                      for name, value in _custom_pairs(config.patterns, line)]
            if custom:  # what the user's own patterns match is a metric
                return self._points(custom, progress=False, always=True)
        if not config.builtin:
            return []
        if line[0] == "|" and line[-1] == "|":
            box = self._box_row(line)
            if box is not None:
                return box
        if not may_hold_value(line):
            self._maybe_header(line)
            return []
        if self.table is not None:
            row = self._table_row(line)
            if row is not None:
                return row
        if line[0] == "{" and line[-1] == "}":
            from_json = _json_pairs(line)
            if from_json is not None:
                return self._points(from_json, progress=False)
        if _MARKS.isdisjoint(line) and " " not in line:
            return []
        pairs: list[_Pair] = []
        leading = _LEADING_COUNTER.match(line)
        if leading is not None:
            pairs.append(_Pair("iter", float(leading.group(1)), True))
        pairs.extend(_text_pairs(line[leading.end():] if leading is not None else line))
        return self._points(pairs, progress="/" in line and _PROGRESS.search(line) is not None)

    def _box_row(self, line: str) -> list[Point] | None:
        """A row of stable-baselines3's box (``|    ep_rew_mean     | 22.5 |``), under its section."""
        match = _BOX_ROW.fullmatch(line)
        if match is None:
            return None
        name, text = match.group(1), match.group(2)
        if not text:
            self.box_section = name if name.endswith("/") else ""
            return []
        value = to_float(text)
        full = _named(self.box_section + name, None)
        return [Point(full, value, None, True)] if value is not None and full is not None else []

    def _points(self, pairs: list[_Pair], progress: bool, always: bool = False) -> list[Point]:
        step: int | None = None
        best = len(STEP_WORDS)
        step_name = ""
        for pair in pairs:
            rank = _STEP_PRIORITY.get(pair.name.lower()) if pair.counter else None
            if rank is not None and rank < best:
                step, best, step_name = int(pair.value), rank, pair.name
        names_counter = any(pair.name.lower() in _STEP_PRIORITY for pair in pairs)
        if step is not None:
            self.context_step, self.context_counted = step, True
        elif self.context_counted and not names_counter:  # 'epoch': 0.5 is its own (fractional) counter
            step = self.context_step
        counted = always or progress or names_counter or step is not None
        return [Point(pair.name, pair.value, step, counted) for pair in pairs if pair.name != step_name]

    def _maybe_header(self, line: str) -> None:
        """A line of three or more column names, one of them a counter word, starts a table."""
        if ":" in line or "=" in line or len(line) > 400:
            return
        columns = [column for column in _TABLE_SPLIT.split(line) if column]
        if len(columns) < 3:
            columns = line.split()
        if not 3 <= len(columns) <= 40:
            return
        names: list[list[str]] = []
        for column in columns:
            words = column.split()
            if not words or not all(_WORD.fullmatch(word) for word in words):
                return
            names.append(words)
        counters = [index for index, words in enumerate(names)
                    if len(words) == 1 and words[0].lower() in _STEP_PRIORITY]
        if counters:
            self.table = _Table([_phrase_name(words) for words in names], counters[0])

    def _table_row(self, line: str) -> list[Point] | None:
        table = self.table
        assert table is not None
        cells = line.split()
        if len(cells) != len(table.columns):
            return None
        step_value = to_float(cells[table.counter])
        step = _whole(step_value) if step_value is not None else None
        if step is None:
            return None
        points: list[Point] = []
        for index, (name, cell) in enumerate(zip(table.columns, cells, strict=True)):
            if index == table.counter:
                continue
            match = _PAIR.fullmatch(f"x {cell}")
            value = to_float(match.group("num")) if match is not None else None
            if match is None or value is None:
                continue  # 00:12, #na#, text: not a number
            full = _named(name, match.group("unit"))
            if full is not None:
                points.append(Point(full, value, step, True))
        self.context_step, self.context_counted = step, True
        return points


def parse_line(line: str, config: ConsoleConfig | None = None) -> list[Point]:
    """The metric points in one line of output, read on its own."""
    return ConsoleParser(config).parse_line(line)


def _custom_pairs(patterns: Iterable[re.Pattern[str]], line: str) -> list[tuple[str, float]]:
    pairs: list[tuple[str, float]] = []
    for pattern in patterns:
        for match in pattern.finditer(line):
            groups = match.groupdict()
            name = groups.pop("name", None)
            value = groups.pop("value", None)
            if name and value is not None:
                number = to_float(value)
                if number is not None:
                    pairs.append((name, number))
            for group_name, text in groups.items():
                number = to_float(text) if text is not None else None
                if number is not None:
                    pairs.append((group_name, number))
    return pairs


def _json_pairs(line: str) -> list[_Pair] | None:
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    return [_Pair(name, value, _STEP_PRIORITY.get(name.lower()) is not None and _whole(value) is not None)
            for name, value in _numbers(data, "", 0)]


def _numbers(data: Mapping[str, Any], prefix: str, depth: int) -> Iterable[tuple[str, float]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool) or not name or len(name) > MAX_NAME:
            continue
        if isinstance(value, int | float):
            yield name, float(value)
        elif isinstance(value, dict) and depth < 8:
            yield from _numbers(value, name + "/", depth + 1)


def _named(name: str, unit: str | None) -> str | None:
    """``time`` + ``ms`` -> ``time_ms``; None for names that are never metrics."""
    lowered = name.lower()
    if lowered in IGNORED_NAMES or not IGNORED_NAMES.isdisjoint(re.split(r"[_/ .\-]", lowered)):
        return None
    if not unit:
        return name
    suffix = _UNIT_SUFFIX.get(unit.strip().lower())
    if suffix is None:
        return None
    return f"{name}_{suffix}" if suffix else name


def _phrase_name(words: list[str]) -> str:
    """``["train", "loss"]`` -> ``train/loss``; ``["vocab", "size"]`` -> ``vocab_size``."""
    if len(words) > 1 and words[0].lower() in SPLITS:
        return words[0].lower() + "/" + "_".join(words[1:])
    return "_".join(words)


def _words_before(gap: str, limit: int = 3) -> tuple[list[str], str]:
    """The words (up to ``limit``) that end ``gap`` right before a name, and what precedes them.
    ``training's`` counts as ``training`` (LightGBM); an all-capital word (``INFO``) ends them."""
    words: list[str] = []
    rest = gap
    while len(words) < limit and rest.endswith(" "):
        stripped = rest[:-1]
        end = len(stripped) - 2 if stripped.endswith("'s") else len(stripped)
        start = end
        while start > 0 and (stripped[start - 1].isalnum() or stripped[start - 1] == "_"):
            start -= 1
        word = stripped[start:end]
        if not word or not _WORD.fullmatch(word) or (len(word) > 2 and word.isupper()):
            break
        if start > 0 and stripped[start - 1] not in " \t([{|,;:":
            break
        words.insert(0, word)
        rest = stripped[:start]
    return words, rest


def _only_separators(text: str) -> bool:
    return not any(char.isalnum() for char in text)


def _text_pairs(line: str) -> list[_Pair]:
    matches = list(itertools.islice(_PAIR.finditer(line), MAX_PAIRS))
    found: list[tuple[_Pair, bool]] = []  # (pair, written "name value")
    previous_end = 0
    for index, match in enumerate(matches):
        quoted = match.group("qname")
        token = quoted or match.group("name")
        sep = match.group("sep")
        gap = line[previous_end:match.start()]
        previous_end = match.end()
        value = to_float(match.group("num"))
        explicit = ":" in sep or "=" in sep
        if value is None or (quoted and not explicit):
            continue
        if token.lower() in _STEP_PRIORITY and _whole(value) is not None and not match.group("unit"):
            found.append((_Pair(token, value, True), False))
            continue
        if match.group("total"):
            continue  # 3/10 of something that is not a counter: not one value
        if explicit:
            words = _words_before(gap)[0] if not quoted and (":" in sep or sep != sep.strip()) else []
            if not words and sep == ":" and _KEY_BEFORE.search(gap):
                continue  # "device: cuda:0": a value that holds a colon, not a metric
            name = _named(_phrase_name([*words, token]), match.group("unit"))
            if name is not None:
                found.append((_Pair(name, value), False))
            continue
        # "name value": only between separators, never among other words ("Downloading 3 files").
        words, rest = _words_before(gap)
        splits = words[-1:] if words and words[-1].lower() in SPLITS else []
        end = matches[index + 1].start() if index + 1 < len(matches) else len(line)
        following = _SEPARATORS.split(line[match.end():end], maxsplit=1)[0]
        if len(words) > len(splits) or any(char.isalpha() for char in rest) or not _only_separators(following):
            continue
        name = _named(_phrase_name([*splits, token]), match.group("unit"))
        if name is not None:
            found.append((_Pair(name, value), True))
    # A lone "name value" (took 3.5s) is prose; among other pairs, after a counter or with a split
    # word (val loss 4.2) it is a metric.
    structured = len(found) >= 2 or any(pair.counter or "/" in pair.name for pair, _ in found)
    return [pair for pair, spaced in found if structured or not spaced]


class LineSplitter:
    """Bytes in chunks -> complete lines (``\\n`` and ``\\r`` both end a line), per stream."""

    def __init__(self) -> None:
        self._partial: dict[str, bytes] = {}

    def feed(self, stream: str, data: bytes) -> list[str]:
        buffered = self._partial.get(stream, b"") + data
        if b"\r" in buffered:
            buffered = buffered.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *complete, rest = buffered.split(b"\n")
        self._partial[stream] = rest[-MAX_LINE:]
        return [line.decode("utf-8", "replace") for line in complete]

    def flush(self) -> list[str]:
        lines = [rest.decode("utf-8", "replace") for rest in self._partial.values() if rest]
        self._partial.clear()
        return lines
