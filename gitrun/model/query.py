"""The small expression language of ``--where``, ``--expect``, ``--columns`` and ``--sort``.

Pure code: a tokenizer, a recursive-descent parser producing a tiny AST, and an evaluator over a
*resolver* (a function from a field path to the values a run has there). docs/query.md holds the
grammar; every error carries the 1-based column it points at and renders a caret line under the
expression, e.g.::

    invalid expression at column 15: expected a value after '>'
      metrics.acc > and params.lr < 0.01
                    ^
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gitrun.errors import UsageError
from gitrun.model.bounded_regex import regex_problem, regex_search

# Fields a run has, besides the open-ended sections below (``params.lr``, ``metrics.acc`` ...).
SIMPLE_FIELDS = (
    "id", "name", "status", "tag", "tags", "branch", "message", "command", "user", "host", "cwd",
    "started", "ended", "duration", "exit_code", "commit", "base", "baseline", "expect", "note", "age",
    "imported_from", "reproduced",
)
SECTION_FIELDS = ("params", "metrics", "summary", "data", "env", "hardware", "git", "snapshot", "log",
                  "missing", "outputs", "imported", "final", "labels", "notebook")
# Fields whose values have no order: only == != ~ !~ make sense on them.
_UNORDERED = {"status", "tag", "tags", "branch", "name", "id", "command", "user", "host", "note", "imported_from",
              "reproduced"}

COMPARISONS = ("==", "!=", "<=", ">=", "<", ">", "~", "!~")
KEYWORDS = ("and", "or", "not", "since", "before", "true", "false")

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d|w|mo|y)$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mo": 30 * 86400, "y": 365 * 86400}
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_WORD_CHARS = re.compile(r"[A-Za-z0-9_./:@+\-*]")


class QueryError(UsageError):
    """An invalid expression; ``str()`` shows the message, the expression and a caret at ``column``."""

    def __init__(self, message: str, text: str, column: int, what: str = "expression") -> None:
        self.message = message
        self.text = text
        self.column = column  # 1-based
        shown, offset = _window(text, column)
        caret = " " * (column - 1 - offset) + "^"
        super().__init__(f"invalid {what} at column {column}: {message}\n  {shown}\n  {caret}",
                         hint=None)


_WINDOW = 60  # characters shown each side of the error's column


def _window(text: str, column: int) -> tuple[str, int]:
    """The part of ``text`` around ``column`` that fits a terminal line, and how many characters were cut
    before it: a 10,000-character expression must not fill the screen to point at one column."""
    start = max(0, column - 1 - _WINDOW)
    end = column - 1 + _WINDOW
    if start == 0 and end >= len(text):
        return text, 0
    head = "..." if start else ""
    tail = "..." if end < len(text) else ""
    return head + text[start:end] + tail, start - len(head)


# --- tokens ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    kind: str  # "word" | "string" | "op" | "lparen" | "rparen" | "comma" | "end"
    text: str  # the value (a string's content without quotes)
    column: int  # 1-based
    raw: str = ""  # as written

    def shown(self) -> str:
        return "the end of the expression" if self.kind == "end" else f"'{self.raw or self.text}'"


def tokenize(text: str, what: str = "expression") -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        column = i + 1
        if char.isspace():
            i += 1
            continue
        if char in "\"'":
            end = i + 1
            value: list[str] = []
            while end < len(text) and text[end] != char:
                if text[end] == "\\" and end + 1 < len(text):
                    end += 1
                value.append(text[end])
                end += 1
            if end >= len(text):
                raise QueryError(f"unterminated string: add the closing {char}", text, column, what)
            tokens.append(Token("string", "".join(value), column, text[i:end + 1]))
            i = end + 1
            continue
        if char == "(":
            tokens.append(Token("lparen", "(", column, "("))
            i += 1
            continue
        if char == ")":
            tokens.append(Token("rparen", ")", column, ")"))
            i += 1
            continue
        if char == ",":
            tokens.append(Token("comma", ",", column, ","))
            i += 1
            continue
        two = text[i:i + 2]
        if two in ("==", "!=", "<=", ">=", "!~"):
            tokens.append(Token("op", two, column, two))
            i += 2
            continue
        if char in "<>~":
            tokens.append(Token("op", char, column, char))
            i += 1
            continue
        if char == "=":
            raise QueryError("'=' is not an operator: use '==' to compare", text, column, what)
        if char == "!":
            raise QueryError("'!' is not an operator: use '!=' or 'not'", text, column, what)
        if char == "&" or char == "|":
            word = "and" if char == "&" else "or"
            raise QueryError(f"'{char}' is not an operator: use '{word}'", text, column, what)
        if _WORD_CHARS.match(char):
            end = i
            while end < len(text) and _WORD_CHARS.match(text[end]):
                end += 1
            # A dotted field may continue with a quoted part: metrics."train/loss"
            while end < len(text) and text[end - 1] == "." and text[end] in "\"'":
                quote = text[end]
                close = text.find(quote, end + 1)
                if close < 0:
                    raise QueryError(f"unterminated string: add the closing {quote}", text, end + 1, what)
                end = close + 1
                while end < len(text) and _WORD_CHARS.match(text[end]):
                    end += 1
            raw = text[i:end]
            tokens.append(Token("word", raw, column, raw))
            i = end
            continue
        raise QueryError(f"unexpected character '{char}'", text, column, what)
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


# --- fields ---------------------------------------------------------------------------------------

def split_field(raw: str) -> tuple[str, ...]:
    """``metrics."train/loss"`` -> ("metrics", "train/loss"); ``params.optim.lr`` -> ("params", "optim.lr")."""
    parts: list[str] = []
    current = ""
    i = 0
    while i < len(raw):
        char = raw[i]
        if char in "\"'":
            close = raw.find(char, i + 1)
            current += raw[i + 1:close]
            i = close + 1
            continue
        if char == "." and not parts:
            parts.append(current)
            current = ""
        else:
            current += char
        i += 1
    parts.append(current)
    return tuple(parts)


def check_field(raw: str, text: str, column: int, what: str = "expression") -> tuple[str, ...]:
    path = split_field(raw)
    root = path[0]
    if root in SIMPLE_FIELDS:
        if len(path) > 1 and root not in ("expect",):
            raise QueryError(f"'{root}' has no sub-fields", text, column + len(root), what)
        return path
    if root in SECTION_FIELDS:
        if len(path) < 2 or not path[1]:
            raise QueryError(f"'{root}' needs a name after it, e.g. {root}.NAME", text, column, what)
        return path
    suggestion = _suggest(root)
    hint = f": did you mean '{suggestion}'?" if suggestion else \
        " (fields: status, tag, branch, name, since, params.NAME, metrics.NAME, ...; see docs/query.md)"
    raise QueryError(f"unknown field '{root}'{hint}", text, column, what)


def _suggest(root: str) -> str | None:
    import difflib

    found = difflib.get_close_matches(root, (*SIMPLE_FIELDS, *SECTION_FIELDS), n=1, cutoff=0.6)
    return found[0] if found else None


# --- AST ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Compare:
    field: tuple[str, ...]
    op: str
    value: Any  # float | str | bool
    column: int


@dataclass(frozen=True)
class Present:
    field: tuple[str, ...]


@dataclass(frozen=True)
class Since:
    seconds: float  # or an absolute moment in ``moment``
    moment: datetime | None
    before: bool


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Const:
    value: bool


Node = Compare | Present | Since | Not | BoolOp | Const


@dataclass(frozen=True)
class Query:
    text: str
    root: Node

    def matches(self, resolve: Resolver, now: datetime | None = None) -> bool:
        return evaluate(self.root, resolve, now or datetime.now(UTC))


MAX_NESTING = 100  # parentheses and 'not's inside one another: far beyond any real expression
MAX_DURATION_S = 100_000 * 86400.0  # 'since 99999999999d' is a mistake, not a date before year 1


class _Parser:
    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self.tokens = tokenize(text, what)
        self.pos = 0
        self.depth = 0

    def deeper(self, token: Token) -> None:
        """Count one more level of nesting; refuse past MAX_NESTING (the parser recurses per level)."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"the expression nests more than {MAX_NESTING} levels deep", token)

    def error(self, message: str, token: Token | None = None) -> QueryError:
        token = token or self.peek()
        return QueryError(message, self.text, token.column, self.what)

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def next(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def is_keyword(self, token: Token, word: str) -> bool:
        return token.kind == "word" and token.text.lower() == word

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("the expression is empty")
        node = self.parse_or()
        token = self.peek()
        if token.kind != "end":
            if token.kind == "rparen":
                raise self.error("unbalanced ')': no '(' opens it")
            raise self.error(f"expected 'and', 'or' or the end, found {token.shown()}")
        return node

    def parse_or(self) -> Node:
        operands = [self.parse_and()]
        while self.is_keyword(self.peek(), "or"):
            self.next()
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def parse_and(self) -> Node:
        operands = [self.parse_not()]
        while self.is_keyword(self.peek(), "and"):
            self.next()
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def parse_not(self) -> Node:
        if self.is_keyword(self.peek(), "not"):
            self.deeper(self.next())
            node = Not(self.parse_not())
            self.depth -= 1
            return node
        return self.parse_primary()

    def parse_primary(self) -> Node:
        token = self.peek()
        if token.kind == "lparen":
            self.deeper(self.next())
            if self.peek().kind == "rparen":
                raise self.error("empty parentheses")
            node = self.parse_or()
            self.depth -= 1
            if self.peek().kind != "rparen":
                raise self.error(f"expected ')' to close the '(' at column {token.column}, "
                                 f"found {self.peek().shown()}")
            self.next()
            return node
        if token.kind == "end":
            raise self.error("expected a condition, found the end of the expression")
        if token.kind in ("word", "string") and self.is_keyword(self.tokens[self.pos + 1], "in") \
                and token.text.lower() not in ("and", "or", "not"):
            return self.parse_membership()  # 'X' in tags
        if token.kind != "word":
            raise self.error(f"expected a field name, found {token.shown()}")
        lowered = token.text.lower()
        if lowered in ("since", "before"):
            self.next()
            return self.parse_since(before=lowered == "before", keyword=token)
        if lowered in ("and", "or"):
            raise self.error(f"expected a condition before '{lowered}'")
        if lowered in ("true", "false"):
            self.next()
            return Const(lowered == "true")
        self.next()
        path = check_field(token.text, self.text, token.column, self.what)
        op = self.peek()
        if self.is_keyword(op, "contains"):  # tags contains X; message contains "lr"
            self.next()
            value_token = self.peek()
            if value_token.kind not in ("word", "string"):
                raise self.error(f"expected a value after 'contains', found {value_token.shown()}")
            self.next()
            return Compare(path, "==" if path[0] in ("tag", "tags") else "contains", value_token.text, op.column)
        if op.kind != "op":
            if op.kind == "word" and op.text.lower() not in ("and", "or"):
                raise self.error(f"expected an operator (== != < <= > >= ~ !~) after '{token.text}', "
                                 f"found {op.shown()}")
            return Present(path)
        self.next()
        if op.text in ("<", "<=", ">", ">=") and path[0] in _UNORDERED:
            raise self.error(f"'{path[0]}' cannot be ordered with '{op.text}': use == or !=", op)
        value_token = self.peek()
        if value_token.kind not in ("word", "string"):
            raise self.error(f"expected a value after '{op.text}', found {value_token.shown()}")
        if value_token.kind == "word" and value_token.text.lower() in ("and", "or", "not"):
            raise self.error(f"expected a value after '{op.text}', found {value_token.shown()}")
        self.next()
        value = self.literal(value_token)
        if op.text in ("~", "!~"):
            problem = regex_problem(str(value_token.text))
            if problem is not None:
                raise self.error(problem, value_token)
            value = str(value_token.text)
        elif op.text in ("<", "<=", ">", ">=") and isinstance(value, bool):
            raise self.error(f"'{op.text}' needs a number, not {value_token.shown()}", value_token)
        elif path[0] in ("duration", "age") and isinstance(value, str):
            seconds = parse_duration(value)
            if seconds is None:
                raise self.error(f"expected seconds or a duration such as 90s, 5m, 2h, found "
                                 f"{value_token.shown()}", value_token)
            value = seconds
        elif path[0] in ("started", "ended") and op.text not in ("==", "!="):
            moment = parse_moment(str(value_token.text))
            if moment is None:
                raise self.error(f"expected a date such as 2026-11-28 or 2026-11-28T09:00, found "
                                 f"{value_token.shown()}", value_token)
            value = moment.isoformat()
        return Compare(path, op.text, value, op.column)

    def parse_membership(self) -> Node:
        value_token = self.next()
        keyword = self.next()
        field_token = self.peek()
        if field_token.kind != "word":
            raise self.error(f"expected a field name after 'in', found {field_token.shown()}")
        self.next()
        path = check_field(field_token.text, self.text, field_token.column, self.what)
        op = "==" if path[0] in ("tag", "tags") else "contains"
        return Compare(path, op, value_token.text, keyword.column)

    def literal(self, token: Token) -> Any:
        if token.kind == "string":
            return token.text
        lowered = token.text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if _NUMBER.match(token.text):
            return float(token.text)
        return token.text

    def parse_since(self, before: bool, keyword: Token) -> Node:
        token = self.peek()
        if token.kind not in ("word", "string"):
            raise self.error(f"expected a duration (3d, 12h, 30m, 2w) or a date after '{keyword.text}', "
                             f"found {token.shown()}")
        self.next()
        seconds = parse_duration(token.text)
        if seconds is not None:
            if not 0 <= seconds <= MAX_DURATION_S:
                raise self.error(f"'{token.text}' is not a duration from now to at most 100000 days ago", token)
            return Since(seconds, None, before)
        moment = parse_moment(token.text)
        if moment is not None:
            return Since(0.0, moment, before)
        raise self.error(f"expected a duration (3d, 12h, 30m, 2w) or a date after '{keyword.text}', "
                         f"found {token.shown()}", token)


def parse_duration(text: str) -> float | None:
    match = _DURATION.match(text.strip().lower())
    if match:
        return float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if _NUMBER.match(text.strip()):
        return float(text)
    return None


def parse_moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse(text: str, what: str = "expression") -> Query:
    """Parse ``text``; raise QueryError pointing at the offending column."""
    return Query(text, _Parser(text, what).parse())


# --- evaluation -----------------------------------------------------------------------------------

# A resolver maps a field path to the run's values there: [] when absent, several for tags.
Resolver = Callable[[tuple[str, ...]], list[Any]]


def fields_of(node: Node) -> list[tuple[str, ...]]:
    """Every field path an expression reads (``since``/``before`` read ``started``)."""
    if isinstance(node, Compare | Present):
        return [node.field]
    if isinstance(node, Since):
        return [("started",)]
    if isinstance(node, Not):
        return fields_of(node.operand)
    if isinstance(node, BoolOp):
        return [path for operand in node.operands for path in fields_of(operand)]
    return []


def evaluate(node: Node, resolve: Resolver, now: datetime) -> bool:
    if isinstance(node, Const):
        return node.value
    if isinstance(node, BoolOp):
        if node.op == "and":
            return all(evaluate(child, resolve, now) for child in node.operands)
        return any(evaluate(child, resolve, now) for child in node.operands)
    if isinstance(node, Not):
        return not evaluate(node.operand, resolve, now)
    if isinstance(node, Present):
        return any(value not in (None, "", False, [], {}) for value in resolve(node.field))
    if isinstance(node, Since):
        started = resolve(("started",))
        if not started or not isinstance(started[0], str):
            return False
        moment = parse_moment(started[0])
        if moment is None:
            return False
        limit = node.moment or (now - timedelta(seconds=node.seconds))
        return moment < limit if node.before else moment >= limit
    values = resolve(node.field)
    if node.op == "!=" and node.field[0] in ("tag", "tags"):
        return not any(compare(value, "==", node.value) for value in values)
    return any(compare(value, node.op, node.value) for value in values)


def compare(actual: Any, op: str, expected: Any) -> bool:
    if actual is None:
        return False
    if op in ("~", "!~"):
        found = regex_search(str(expected), _text(actual))
        return found if op == "~" else not found
    if op == "contains":
        return _text(expected).lower() in _text(actual).lower()
    if isinstance(expected, bool):
        if isinstance(actual, bool):
            return (actual == expected) if op == "==" else (actual != expected)
        return _text(actual).lower() == str(expected).lower() if op == "==" else \
            _text(actual).lower() != str(expected).lower()
    number = as_number(actual)
    if isinstance(expected, float) and number is not None:
        left: Any = number
        right: Any = expected
    else:
        left, right = _text(actual), _text(expected)
        if op in ("<", "<=", ">", ">=") and isinstance(expected, float):
            return False  # a text value has no order against a number
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if not (isinstance(value, float) and math.isnan(value)) else None
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value)
    return None


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return " ".join(_text(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- columns and sort keys ------------------------------------------------------------------------

def parse_columns(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """``id,name,params.lr,metrics."val/acc"`` -> [(header, path), ...]; errors point at the column."""
    columns: list[tuple[str, tuple[str, ...]]] = []
    tokens = tokenize(text, "column list")
    expect_name = True
    for token in tokens:
        if token.kind == "end":
            if expect_name:
                raise QueryError("expected a column name", text, token.column, "column list")
            break
        if expect_name:
            if token.kind != "word":
                raise QueryError(f"expected a column name, found {token.shown()}", text, token.column,
                                 "column list")
            columns.append((token.raw, check_column(token.raw, text, token.column)))
            expect_name = False
        else:
            if token.kind != "comma":
                raise QueryError(f"expected ',' between columns, found {token.shown()}", text, token.column,
                                 "column list")
            expect_name = True
    return columns


def check_column(raw: str, text: str, column: int) -> tuple[str, ...]:
    return check_field(raw, text, column, "column list")


def parse_sort(text: str) -> tuple[tuple[str, ...], bool]:
    """``metrics.acc`` (ascending), ``-metrics.acc`` or ``metrics.acc:desc`` (descending)."""
    raw = text.strip()
    descending = False
    offset = 1
    if raw.startswith("-"):
        descending, raw, offset = True, raw[1:], 2
    for suffix, desc in ((":desc", True), (":asc", False)):
        if raw.endswith(suffix):
            descending, raw = desc, raw[: -len(suffix)]
    if not raw:
        raise QueryError("expected a field to sort by", text, 1, "sort key")
    return check_field(raw, text, offset, "sort key"), descending


def sort_key(values: Sequence[Any]) -> tuple[int, float, str]:
    """Numbers before text, missing values last."""
    if not values:
        return (2, 0.0, "")
    value = values[0]
    if type(value) is float and value == value:  # a plain number, the common case (NaN is not one)
        return (0, value, "")
    if value is None or value == "":
        return (2, 0.0, "")
    number = as_number(value)
    if number is not None:
        return (0, number, "")
    return (1, 0.0, _text(value))


def format_value(values: Iterable[Any]) -> str:
    items = [value for value in values if value not in (None, "")]
    if not items:
        return "-"
    return ", ".join(_format_one(item) for item in items)


def _format_one(value: Any) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6g}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_format_one(v)}" for k, v in value.items())
    return str(value)
