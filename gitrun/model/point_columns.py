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

``periodic_series`` is the faster form of the commonest block: every line in the compact form, the
names repeating with a period (a dict of metrics logged at every step) for runs of lines (a metric
logged now and then starts a new run). The key tokens are replaced over the whole block and one
split gives each line's name and its ``step\\ttime\\x03value`` text; each metric's texts of a run are
joined and checked by deleting the number bytes and comparing what is left; the TSV is that text
with its separators translated, and only the values become objects (``float``, for the summaries).
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


def periodic_series(data: bytes) -> list[dict[str, SeriesText]] | None:
    """``data``: whole lines (no final newline) in ``gitrun.log``'s compact form -> runs of lines whose
    names repeat with a period, each as its metrics' TSV text and values (first logged first); None
    for any other block, or one that breaks into too many runs (then ``plain_columns`` or JSON reads it)."""
    if (not (data.startswith(_OPEN) and data.endswith(_CLOSE))
            or any(byte in data for byte in (b"\\", b"\t", b"\x03"))):
        return None  # an escape could hide a quote in a name; tabs and \x03 are the separators made here
    count = data.count(b"\n") + 1
    # No string holds a quote (no backslash), so these tokens are the keys, never part of a name.
    data = data.replace(_TIME_KEY, b"\t").replace(_VALUE_KEY, b"\x03")
    lines = data[len(_OPEN):-len(_CLOSE)].split(_LINE_BREAK)  # name","step":STEP\tTIME\x03VALUE
    if len(lines) != count:
        return None  # a line break inside a line
    whole = _one_run(lines)
    if whole is not _CUT:
        return whole
    parts = _STEP_KEY.join(lines).split(_STEP_KEY)  # name, STEP\tTIME\x03VALUE, name, ...: each line's name
    if len(parts) != 2 * count:
        return None  # a line without its step key, or with two
    names, payloads = parts[0::2], parts[1::2]
    checked: dict[bytes, str] = {}
    found: list[dict[str, SeriesText]] = []
    start = 0
    while start < count:
        if len(found) > _MAX_RUNS + count // _MIN_RUN_LINES:
            return None  # names in no order worth cutting out: columns group them
        period = _period(names, start)
        distinct = _distinct_lines(names[start:start + period])
        # A name twice before the first comes back: these lines once each (a metric logged now and then)
        end = start + distinct if distinct < period else _periodic_end(names, start, period)
        period = distinct
        run: dict[str, SeriesText] = {}
        for offset, raw in enumerate(names[start:start + period]):
            name = checked.get(raw) or _checked_name(raw, checked)
            lines = payloads[start + offset:end:period]
            series = _series_text(b"\n".join(lines), len(lines)) if name and name not in run else None
            if series is None:
                return None
            run[name] = series
        found.append(run)
        start = end
    return found


_CUT: list[dict[str, SeriesText]] = []  # _one_run's answer for a block whose period breaks


def _one_run(lines: list[bytes]) -> list[dict[str, SeriesText]] | None:
    """The block as one run when the names of its first lines repeat all through it (the common case,
    cheaper than finding every line's name); ``_CUT`` when they do not, None when a line is no point."""
    head = [line[:line.find(b'"')] for line in lines[:_PERIOD_LOOKAHEAD + 1]]
    period = _period(head, 0)
    if _distinct_lines(head[:period]) < period:
        return _CUT
    checked: dict[bytes, str] = {}
    run: dict[str, SeriesText] = {}
    for offset, raw in enumerate(head[:period]):
        prefix = raw + _STEP_KEY
        picked = lines[offset::period]
        text = b"\n".join(picked)
        if not text.startswith(prefix):
            return _CUT
        text = text[len(prefix):].replace(b"\n" + prefix, b"\n")
        if b'"' in text:
            return _CUT  # a line of another name (it keeps its quotes)
        name = _checked_name(raw, checked)
        series = _series_text(text, len(picked)) if name else None
        if series is None:
            return None
        run[name] = series
    return [run]


_MAX_RUNS = 64  # runs of lines taken as text per block, beyond one per _MIN_RUN_LINES lines
_MIN_RUN_LINES = 64


def _checked_name(raw: bytes, checked: dict[bytes, str]) -> str:
    """The metric name, or "" when JSON would not read it as the same text or it names no series."""
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    if not valid_name(name) or not name.isprintable() or '"' in name:  # a quote: a torn line glued to the next
        return ""
    checked[raw] = name
    return name


def _period(names: list[bytes], start: int) -> int:
    """Lines from ``start`` to the first one of the same name (1 when none follows soon)."""
    try:
        return names.index(names[start], start + 1, start + 1 + _PERIOD_LOOKAHEAD) - start
    except ValueError:
        return 1


def _distinct_lines(names: list[bytes]) -> int:
    """How many of the first names are all different."""
    seen: set[bytes] = set()
    for index, name in enumerate(names):
        if name in seen:
            return index
        seen.add(name)
    return len(names)


def _periodic_end(names: list[bytes], start: int, period: int) -> int:
    """Where the lines from ``start`` stop repeating the names of their first ``period`` lines."""
    good, width, total = start + period, 64, len(names)
    while good < total:  # galloping: ever wider slices compared whole (C), then halved on a mismatch
        stop = min(total, good + width)
        if names[good:stop] == names[good - period:stop - period]:
            good, width = stop, width * 2
            continue
        low, high = good, stop  # names repeat in [good, low); the first that does not is in [low, high)
        while high - low > 1:
            middle = (low + high) // 2
            if names[low:middle] == names[low - period:middle - period]:
                low = middle
            else:
                high = middle
        return low
    return total


def _series_text(text: bytes, count: int) -> SeriesText | None:
    """One metric's ``count`` lines (STEP\\tTIME\\x03VALUE) -> its TSV text, or None when any line is
    not exactly that, with a whole step, a time as ``%.3f`` writes it and a number for a value."""
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
