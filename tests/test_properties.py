"""Property-based tests (hypothesis) for what reads untrusted input: the note codec and its
validation, the query language and path validation (issue 9)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gitrun.model.paths import HFS_IGNORABLE, is_dotgit, path_problem
from gitrun.model.query import QueryError, parse
from gitrun.model.run import Run
from gitrun.model.schema import (
    TOP_LEVEL,
    VIEW_KEYS,
    CheckedDocument,
    check_document,
    deepest_key,
    keys_too_deep,
    read_view,
)
from gitrun.model.terminal import printable
from gitrun.store import codec

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RUN_ID = "01m8t000000000000000000000"

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
scalars = st.one_of(text, st.integers(min_value=-(2**63), max_value=2**63 - 1), st.booleans(),
                    st.floats(allow_nan=False))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(text, inner, max_size=4)), max_leaves=20)
documents = st.dictionaries(st.one_of(text, st.sampled_from(sorted(TOP_LEVEL))), values, max_size=8)


@FAST
@given(documents)
def test_the_codec_round_trips_any_document(doc: dict[str, Any]) -> None:
    doc = {key: value for key, value in doc.items() if key not in VIEW_KEYS}  # read-only, never stored
    assert codec.decode(codec.encode(doc)) == doc


@FAST
@given(st.binary(max_size=300) | documents.map(lambda doc: codec.encode(doc)))
def test_reading_any_note_never_raises_and_yields_trusted_types(note: bytes) -> None:
    _assert_trusted(codec.decode_note(note, RUN_ID))


@FAST
@given(documents)
def test_validation_leaves_only_fields_of_the_right_type(doc: dict[str, Any]) -> None:
    checked = check_document(doc, RUN_ID)
    _assert_trusted(checked)
    if not checked.problems:
        assert checked.doc == {key: value for key, value in doc.items() if key not in VIEW_KEYS}


def _assert_trusted(checked: CheckedDocument) -> None:
    for key, (check, _expected) in TOP_LEVEL.items():
        if key in checked.doc:
            assert check(checked.doc[key]), (key, checked.doc[key])
    run = Run(RUN_ID, "refs/experiments/x", "0" * 40, "1" * 40, read_view(checked))
    # every typed accessor a command uses works on whatever was left
    assert isinstance(run.name, str) and isinstance(run.status, str) and isinstance(run.message, str)
    assert all(isinstance(tag, str) for tag in run.tags) and all(isinstance(arg, str) for arg in run.command)
    assert run.started is None or isinstance(run.started, datetime)
    assert run.ended is None or isinstance(run.ended, datetime)
    assert run.duration_s is None or isinstance(run.duration_s, float)
    assert run.exit_code is None or isinstance(run.exit_code, int)
    assert isinstance(run.git, dict) and isinstance(run.branch, str)
    assert (run.status == "broken") == bool(checked.problems) and run.problems == checked.problems


# --- the query language ---------------------------------------------------------------------------

FIELDS = st.sampled_from(["status", "name", "tag", "params.lr", "metrics.loss", "duration", "started", "branch"])
OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~", "!~"])
LITERALS = st.one_of(st.integers(-1000, 1000).map(str), st.floats(allow_nan=False, allow_infinity=False).map(repr),
                     st.sampled_from(["'ok'", "running", "'a b'", "5m", "2026-01-01", "true"]))


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 3 or draw(st.booleans()):
        kind = draw(st.sampled_from(["compare", "present", "since"]))
        if kind == "compare":
            return f"{draw(FIELDS)} {draw(OPS)} {draw(LITERALS)}"
        if kind == "present":
            return draw(FIELDS)
        return f"since {draw(st.sampled_from(['3d', '12h', '2026-01-01', '99999999999d']))}"
    left, right = draw(expressions(depth + 1)), draw(expressions(depth + 1))
    form = draw(st.sampled_from(["and", "or", "not", "paren"]))
    if form == "not":
        return f"not {left}"
    if form == "paren":
        return f"({left})"
    return f"{left} {form} {right}"


@FAST
@given(st.text(max_size=60))
def test_any_text_parses_or_is_one_query_error(source: str) -> None:
    try:
        parse(source, "--where expression")
    except QueryError as err:
        assert str(err)


@FAST
@given(expressions(), st.lists(values, max_size=3))
def test_evaluating_any_expression_on_any_values_never_raises(source: str, found: list[Any]) -> None:
    try:
        query = parse(source)
    except QueryError:
        return
    assert query.matches(lambda _path: list(found), datetime.now(UTC)) in (True, False)


# --- path validation ------------------------------------------------------------------------------

@FAST
@given(st.lists(st.sampled_from(["a", "b.txt", ".", "..", "", ".git", ".GIT.", "git~1", "x\\..", "/", "\u200c",
                                 ".g\u200cit", "ok dir"]), min_size=1, max_size=6)
       .map("/".join) | st.text(max_size=30))
@example("\\")  # found by hypothesis: empty parts around a backslash
@example("a\\")
@example("a\\\\b")
def test_an_accepted_path_stays_below_the_root_and_out_of_git(path: str) -> None:
    if path_problem(path) is not None:
        return
    root = "/root/of/checkout"
    joined = os.path.normpath(os.path.join(root, path))
    assert joined.startswith(root + "/"), path
    for component in path.replace("\\", "/").split("/"):
        assert component not in ("", ".", "..") and not is_dotgit(component)


@FAST
@given(st.lists(st.sampled_from(sorted(chr(code) for code in HFS_IGNORABLE)), max_size=3),
       st.tuples(*[st.sampled_from([low, low.upper()]) for low in "git"]), st.sampled_from(["", ".", " ", ". "]),
       st.sampled_from(["", "prefix/"]), st.integers(0, 4))
def test_every_spelling_of_dot_git_is_refused(ignorable: list[str], letters: tuple[str, ...], trailing: str,
                                               prefix: str, where: int) -> None:
    name = "." + "".join(letters)
    name = name[:where] + "".join(ignorable) + name[where:] + trailing
    assert path_problem(f"{prefix}{name}/hooks/pre-commit") is not None


@FAST
@given(st.text(max_size=40))
def test_printable_text_has_no_control_or_direction_characters(source: str) -> None:
    shown = printable(source)
    assert not any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F or char in "\u202e\u2066\u200b" for char in shown)
    assert printable(shown) == shown  # idempotent: escaping twice shows the same


_DOTTY = st.text(alphabet=st.sampled_from(list('.a="\'[] \n\r\x0c\u2028')), max_size=400)


@FAST
@given(_DOTTY, st.integers(min_value=1, max_value=12))
@example('x = "a.b.c.d"\na.b = 1', 3)
@example('x = 1\ra.a.a.a = 2', 3)  # a line break splitlines knows and "\n"-splitting would not
@example('"a.a.a.a".b = 1', 2)  # quoted dots do not count
def test_the_quick_depth_bound_agrees_with_the_full_scan(text: str, limit: int) -> None:
    """keys_too_deep skips the key scan when no line has ``limit`` dots: it must decide as the scan does."""
    assert keys_too_deep(text, limit) == (deepest_key(text) > limit)


_CELL = st.text(alphabet=st.sampled_from(list("ab é-x.|")), max_size=8)


@FAST
@given(st.lists(st.sampled_from(["id", "name", "status", "a longer header"]), min_size=1, max_size=4).flatmap(
    lambda headers: st.tuples(st.just(headers), st.lists(
        st.lists(_CELL, min_size=len(headers), max_size=len(headers)), max_size=6))))
def test_the_fast_table_prints_what_tabulate_prints(table: tuple[list[str], list[list[str]]]) -> None:
    """``git run list`` lays out 10,000 rows without tabulate: the text must be tabulate's ``simple`` table."""
    from tabulate import tabulate

    from gitrun.commands.output import _plain_table

    headers, rows = table
    assert _plain_table(rows, headers) == tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
