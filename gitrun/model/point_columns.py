"""Spooled metric points read as columns: a chunk of ``metrics.jsonl`` without a Python object per point.

Finalising a long run reads millions of lines that gitrun's own writers put in the spool, all of one
shape: ``{"name":"loss","step":3,"time":1700000000.123,"value":0.25}`` (``gitrun.log``'s writer,
``api._Buffer._encode``) or the same with ``": "`` and ``", "`` (``json.dumps``: the system
sampler). ``plain_columns`` takes a chunk of such whole lines and returns, per metric name, the
TSV lines of its points (``model.series`` format: ``step\\ttime\\tvalue``) and their values as an
``array('d')``, using only whole-chunk operations (``bytes.replace``, ``split``, ``translate``,
slicing, ``map(float, ...)``): about ten times less CPU than ``json.loads`` and a loop over dicts.

A chunk with any other line (a console point with ``src``, a name with an escape, another key order
or spacing, a step that is not a whole number, a damaged line) gives None and is read as JSON by the
caller, point by point. Numbers are read by ``float()``, which also takes a few forms JSON refuses
(``+1``, ``01``) and gitrun never writes; values of the compact form are copied as written, since
that writer writes ``repr(float(value))``, the text the TSV holds (tests/test_finalise_stream.py
checks both against the JSON path).

``periodic_series`` is the faster form of the commonest block: every line in the compact form and the
names repeating with a period (a dict of metrics logged at every step). Each metric's lines are
joined and turned into its TSV text by a few whole-text passes (its name's prefix replaced, the
numbers left where they are), checked by deleting the digits and counting what is left; only the
values become objects (``float``, for the summaries).
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter

from gitrun.model.series import valid_name

_OPEN = b'{"name":"'
_CLOSE = b"}"
# Each key token becomes one separator byte, so the order of the keys in every line can be checked.
_TOKENS = ((b'","step":', b"\x01"), (b',"time":', b"\x02"), (b',"value":', b"\x03"), (b'}\n{"name":"', b"\x04"))
_SEPARATORS = b"\x01\x02\x03\x04"
_NOT_SEPARATORS = bytes(byte for byte in range(256) if byte not in _SEPARATORS)
_TO_TAB = bytes.maketrans(_SEPARATORS, b"\t\t\t\t")
_REFUSED = (b"\\", b"\t", b"\r", b"\x00", *(bytes([byte]) for byte in _SEPARATORS))
_NUMBER_BYTES = b"0123456789.eE+-"
_SPECIAL = frozenset((b"NaN", b"Infinity", b"-Infinity"))  # the words JSON (Python's) reads as numbers
_NULL = b"null"


@dataclass
class SeriesText:
    """One metric's points of a block as its TSV text (``step\\ttime\\tvalue\\n`` lines, the text
    ``model.series`` writes) and their values."""

    text: bytes
    values: array  # type: ignore[type-arg]
    last_step: int


@dataclass
class Columns:
    """One metric's points of a chunk, in logging order: the step texts (None for a point logged
    without a step: its series numbers it), the time and value texts as the TSV has them, the values."""

    steps: list[bytes | None]
    times: Sequence[bytes]
    texts: Sequence[bytes]
    values: array  # type: ignore[type-arg]


def plain_columns(data: bytes) -> dict[str, Columns] | None:
    """``data``: whole lines (no final newline) -> the points by metric name, in logging order; None
    when any line is not in the plain form (then parse the chunk as JSON)."""
    if not data or any(byte in data for byte in _REFUSED):
        return None
    compact = b'": ' not in data and b', "' not in data
    if not compact:  # json.dumps' spacing: outside strings only, since no string holds a quote
        data = data.replace(b'": ', b'":').replace(b', "', b',"')
    if not (data.startswith(_OPEN) and data.endswith(_CLOSE)):
        return None
    lines = data.count(b"\n") + 1
    body = data[len(_OPEN):-len(_CLOSE)] + b"\x04"  # the last line ends like the others
    for token, separator in _TOKENS:
        body = body.replace(token, separator)
    if b'"' in body or b"\n" in body or body.translate(None, _NOT_SEPARATORS) != _SEPARATORS * lines:
        return None  # every quote and newline was part of a token, the tokens in the writers' order
    fields = body[:-1].translate(_TO_TAB).split(b"\t")
    groups = _group(fields[0::4])
    if groups is None:
        return None
    steps, times, values = fields[1::4], fields[2::4], fields[3::4]
    found: dict[str, Columns] = {}
    for name, pick in groups.items():
        columns = _columns(pick(steps), pick(times), pick(values), compact)
        if columns is None:
            return None
        found[name] = columns
    return found


Picker = Callable[[list[bytes]], Sequence[bytes]]


def _group(names: list[bytes]) -> dict[str, Picker] | None:
    """A picker of each name's points: a slice when the names repeat with a period (a dict of metrics
    logged at every step), else the positions sorted by name (a stable sort: logging order kept)."""
    distinct = set(names)
    for raw in distinct:
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if not valid_name(name) or not name.isprintable():
            return None  # JSON refuses raw control characters in a string
    period = len(distinct)
    if len(set(names[:period])) == period and names[period:] == names[:len(names) - period]:
        return {raw.decode("utf-8"): itemgetter(slice(offset, None, period))
                for offset, raw in enumerate(names[:period])}
    order = sorted(range(len(names)), key=names.__getitem__)
    counts = Counter(names)
    starts, start = {}, 0
    for raw in sorted(distinct):
        starts[raw] = start
        start += counts[raw]
    found: dict[str, Picker] = {}
    for raw in sorted(distinct, key=names.index):  # first logged first, as the JSON path meets them
        positions = order[starts[raw]:starts[raw] + counts[raw]]
        found[raw.decode("utf-8")] = itemgetter(*positions) if len(positions) > 1 else _single(positions[0])
    return found


def _single(position: int) -> Picker:
    return lambda column: (column[position],)


def _columns(steps: Sequence[bytes], times: Sequence[bytes], values: Sequence[bytes],
             compact: bool) -> Columns | None:
    step_texts = _steps(steps)
    time_texts = _times(times)
    if step_texts is None or time_texts is None:
        return None
    try:
        numbers = array("d", map(float, values))
    except ValueError:
        return None
    letters = b"".join(values).translate(None, _NUMBER_BYTES)
    if letters and any(value.translate(None, _NUMBER_BYTES) and value not in _SPECIAL for value in values):
        return None  # float() reads "nan", "inf", "1_0": JSON does not
    # gitrun.log writes each value as repr(float(value)): the very text model.series writes.
    texts = values if compact and not letters else list(map(b"%r".__mod__, numbers))
    return Columns(step_texts, time_texts, texts, numbers)


def _steps(steps: Sequence[bytes]) -> list[bytes | None] | None:
    """Whole numbers, or None where JSON says ``null`` (the series numbers the point)."""
    if b"".join(steps).isdigit() and b"" not in steps:
        return steps if isinstance(steps, list) else list(steps)
    if any(step != _NULL and not step.isdigit() for step in steps):
        return None  # negative, fractional or not a number: JSON decides
    return [None if step == _NULL else step for step in steps]


def _times(times: Sequence[bytes]) -> Sequence[bytes] | None:
    """The times as ``%.3f`` writes them: as they are when already so (gitrun.log writes them so)."""
    if _written_as_3f(times):
        return times
    joined = b"".join(times)
    if joined.translate(None, _NUMBER_BYTES):
        return None
    try:
        return list(map(b"%.3f".__mod__, map(float, times)))
    except ValueError:
        return None


_TIME_KEY = b',"time":'
_VALUE_KEY = b',"value":'
_LINE_BREAK = b'}\n{"name":"'
_STEP_KEY = b'","step":'
_PERIOD_LOOKAHEAD = 256  # lines read for the period; a longer period is not taken
_TO_FIELDS = bytes.maketrans(b"\t\n", b"\x03\x03")
_TO_TSV = bytes.maketrans(b"\x03", b"\t")


def periodic_series(data: bytes) -> dict[str, SeriesText] | None:
    """``data``: whole lines (no final newline) in ``gitrun.log``'s compact form whose names repeat with
    a period -> each metric's TSV text and values, first logged first; None for any other block (then
    ``plain_columns`` or JSON reads it)."""
    if not (data.startswith(_OPEN) and data.endswith(_CLOSE)) or b"\\" in data:
        return None  # an escape could hide a quote in a name; other odd bytes fail the checks below
    # No string holds a quote (no backslash), so these tokens are the keys, never part of a name.
    data = data.replace(_TIME_KEY, b"\t").replace(_VALUE_KEY, b"\x03")
    lines = data[len(_OPEN):-len(_CLOSE)].split(_LINE_BREAK)  # name","step":STEP\tTIME\x03VALUE
    names = _period_names(lines)
    if names is None:
        return None
    found: dict[str, SeriesText] = {}
    for offset, (name, raw) in enumerate(names.items()):
        series = _series_text(lines[offset::len(names)], raw + _STEP_KEY)
        if series is None:
            return None
        found[name] = series
    return found


def _period_names(lines: list[bytes]) -> dict[str, bytes] | None:
    """The names of one period (text -> bytes), in order, when the first lines repeat them; each
    metric's lines are checked against its name afterwards."""
    head = [line[:line.find(b'"')] for line in lines[:_PERIOD_LOOKAHEAD + 1]]
    first = head[0]
    if first in head[1:]:
        period = head.index(first, 1)
    elif len(lines) <= _PERIOD_LOOKAHEAD:
        period = len(lines)
    else:
        return None
    names: dict[str, bytes] = {}
    for raw in head[:period]:
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if name in names or not valid_name(name) or not name.isprintable():
            return None
        names[name] = raw
    return names


def _series_text(lines: list[bytes], prefix: bytes) -> SeriesText | None:
    """One metric's lines (``prefix`` STEP\\tTIME\\x03VALUE) -> its TSV text, or None when any line is
    not exactly that, with a whole step, a time as ``%.3f`` writes it and a number for a value."""
    text = b"\n".join(lines)
    if not text.startswith(prefix):
        return None
    text = text[len(prefix):].replace(b"\n" + prefix, b"\n")  # a line of another name keeps its quotes
    count = len(lines)
    # Numbers deleted, each line must leave exactly its two separators: nothing else, in this order.
    if text.translate(None, _NUMBER_BYTES) != (b"\t\x03\n" * count)[:-1]:
        return None
    fields = text.translate(_TO_FIELDS).split(b"\x03")
    steps, times, values = fields[0::3], fields[1::3], fields[2::3]
    if not (b"".join(steps).isdigit() and b"" not in steps and _written_as_3f(times)):
        return None  # a step logged as null or not a whole number, a time to write again: columns or JSON
    try:
        numbers = array("d", map(float, values))
    except ValueError:  # an empty value, or signs and points in no number's order
        return None
    return SeriesText(text.translate(_TO_TSV) + b"\n", numbers, int(steps[-1]))


def _written_as_3f(times: Sequence[bytes]) -> bool:
    """Every time is digits, a point and three digits, of one width, at most 12 digits before the
    point: ``%.3f`` of the number gives the same text."""
    joined = b"".join(times)
    count, width = len(times), len(times[0])
    return (4 < width <= 16 and len(joined) == width * count and joined[width - 4::width] == b"." * count
            and joined.count(b".") == count and joined.replace(b".", b"").isdigit()
            and len(set(map(len, times))) == 1)


_SPACED_LINE = b'{"name": '  # json.dumps' spacing: the sampler's and the console parser's lines
_MAX_SPACED_RUNS = 256  # a block with more runs of them is read whole (columns or JSON), as before


def spaced_runs(data: bytes) -> list[bytes]:
    """``data`` (whole lines, no final newline) cut where runs of lines in ``json.dumps``' spacing start
    and end, so that the lines ``gitrun.log`` wrote between two samples can be taken as text; the
    block itself when it has none, or too many runs, or they are not where lines start."""
    if _SPACED_LINE not in data:
        return [data]
    runs: list[bytes] = []
    start = 0
    found = data.find(_SPACED_LINE)
    while found >= 0:
        if (found and data[found - 1] != 0x0A) or len(runs) >= 2 * _MAX_SPACED_RUNS:
            return [data]  # not at a line's start (a name holding it), or sampled more than logged
        end = found
        while data.startswith(_SPACED_LINE, end):  # the run: every line that follows in that spacing
            end = data.find(b"\n", end)
            if end < 0:
                end = len(data)
                break
            end += 1
        if found > start:
            runs.append(data[start:found - 1])
        runs.append(data[found:end].rstrip(b"\n"))
        start = end
        found = data.find(_SPACED_LINE, start)
    if start < len(data):
        runs.append(data[start:])
    return runs
