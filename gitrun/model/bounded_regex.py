"""Regular expressions of the ``--where`` language (``~``, ``!~``), matched in bounded time.

The pattern is the user's, the text a run's field, and a run may come from anyone who can push to
the shared remote. Python's ``re`` has no time limit: an innocent-looking pattern with nested
quantifiers (``(\\w+\\s?)+$``, ``(a+)+$``) backtracks exponentially on a long hostile value, and
``git run list`` or the UI's filter would hang for good. So matching uses the ``regex`` package
(the same syntax as ``re``) with a timeout on each match: a match that runs out of time stops the
whole query with one clear error naming the pattern, instead of hanging or silently not matching.
One slow value is enough to stop, so ten thousand hostile runs cost one timeout, not ten thousand.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from gitrun.errors import UsageError

MATCH_TIMEOUT_S = 0.25  # one pattern against one value; an ordinary match takes microseconds
MAX_PATTERN_CHARS = 1000


class RegexTimeout(UsageError):
    """A ``~`` pattern took longer than ``MATCH_TIMEOUT_S`` on one value."""


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used (too long, invalid), or None."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"regular expression longer than {MAX_PATTERN_CHARS} characters"
    import regex

    try:
        _compiled(pattern)
    except regex.error as err:
        return f"invalid regular expression: {err}"
    return None


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> Any:
    import regex  # only a query with ~ pays for the import

    return regex.compile(pattern)


def regex_search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` occurs in ``text``; raises RegexTimeout when matching takes too long."""
    try:
        return _compiled(pattern).search(text, timeout=MATCH_TIMEOUT_S) is not None
    except TimeoutError:
        raise RegexTimeout(
            f"the regular expression '{pattern}' took over {MATCH_TIMEOUT_S}s on one value "
            f"({len(text):,} characters) and was stopped",
            hint="nested repetition such as (a+)+ or (\\w+\\s?)+ backtracks without end: "
                 "write it without the outer repetition (a+), or use 'contains'") from None
