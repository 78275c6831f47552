"""The one sanitiser for text on its way to a terminal.

Names, tags, messages, branches, commands, parameters and file names may come from a teammate's
pushed run. Printed raw, an escape sequence in them could set the terminal's title, clear the
screen, plant an OSC 8 link or write the clipboard (OSC 52); a bidirectional override could make
text read other than it is. ``printable`` turns every such character into a visible escape
(``\\x1b``, ``\\u202e``); ordinary text, including non-ASCII letters and emoji, is unchanged.

Two uses: ``printable(text)`` for one field on one line (a newline in a file name becomes ``\\n``,
so it cannot break a table or a listing), and ``printable(text, keep_newlines=True)`` for whole
blocks, which the command line applies to everything gitrun writes to stdout and stderr
(``gitrun.cli`` wraps both streams). JSON output needs nothing more: JSON escapes control
characters itself, and what this escapes beyond them is written as valid JSON ``\\uXXXX``.
"""

from __future__ import annotations

import re

# C0 controls and DEL, C1 controls, invisible and direction-changing code points: zero-width
# spaces and joiners, left-to-right/right-to-left marks, embeddings, overrides and isolates, line
# and paragraph separators, invisible operators, the byte order mark; and lone surrogates (the
# undecodable bytes of a non-UTF-8 file name, kept by ``surrogateescape``).
_INVISIBLE = "\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\udc80-\udcff"
_UNSAFE = re.compile(f"[\x00-\x1f{_INVISIBLE}]")
_UNSAFE_IN_BLOCK = re.compile(f"[\x00-\x08\x0b-\x1f{_INVISIBLE}]")  # keeps tab and line feed
_UNSAFE_IN_LOG = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{_INVISIBLE}]")  # and carriage return
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


def printable(text: str, keep_newlines: bool = False, keep_colours: bool = False) -> str:
    """``text`` with every control, invisible or direction-changing character escaped.

    ``keep_newlines`` keeps line feeds and tabs (a block of lines); otherwise they are escaped too
    (one field on one line). ``keep_colours`` keeps SGR sequences (colours, bold) and nothing else:
    the last step of a command's output when colour is on (each field from a run was already made
    printable on its own, so only gitrun's own colours are left to keep).
    """
    pattern = _UNSAFE_IN_BLOCK if keep_newlines else _UNSAFE
    return _escape_outside_colours(pattern, text) if keep_colours else _escape_all(pattern, text)


def _escape_all(pattern: re.Pattern[str], text: str) -> str:
    if pattern.search(text) is None:
        return text  # the common case: one regex scan, no copy
    return pattern.sub(_escape, text)


_SGR = re.compile("\x1b\\[[0-9;:]*m")  # colours and bold: the only escape a stored log keeps


def printable_log(data: bytes) -> bytes:
    """A stored console log for a terminal: colours and carriage returns (progress bars) kept,
    every other escape sequence and control character shown as text."""
    return printable_log_text(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")


def printable_log_text(text: str) -> str:
    """``printable_log`` for text already decoded (the terminal UI's log view)."""
    return _escape_outside_colours(_UNSAFE_IN_LOG, text)


def _escape_outside_colours(pattern: re.Pattern[str], text: str) -> str:
    if "\x1b" not in text:
        return _escape_all(pattern, text)
    out: list[str] = []
    position = 0
    for match in _SGR.finditer(text):
        out += (_escape_all(pattern, text[position:match.start()]), match.group())
        position = match.end()
    out.append(_escape_all(pattern, text[position:]))
    return "".join(out)
