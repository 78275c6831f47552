"""Every input gitrun parses is bounded by size, depth and time (issue 9).

``--where`` expressions, durations, and the parameter files a run reads (``--params``, config files
named on the command line, a teammate's YAML) give one clear line instead of a RecursionError,
an OverflowError or minutes of CPU and gigabytes of memory.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gitrun.capture.params import load_param_file, parse_param_text
from gitrun.model.bounded_regex import RegexTimeout
from gitrun.model.query import QueryError, parse
from tests.conftest import gitrun
from tests.hostile import forged_run


def alias_bomb(levels: int = 9) -> str:
    """Billion laughs: 9 levels of 9 aliases each expand to 9**9 (387 million) strings, in 400 bytes."""
    text = "a: &a [" + ", ".join(["lol"] * 9) + "]\n"
    previous = "a"
    for name in "bcdefghijklmnop"[:levels - 1]:
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


WHERE_LIMITS = [
    ("(" * 5000 + "status == 'ok'" + ")" * 5000, "nests more than 100 levels deep"),
    ("not " * 5000 + "status == 'ok'", "nests more than 100 levels deep"),
    ("since 99999999999d", "is not a duration from now to at most 100000 days ago"),
    ("before 1e999", "is not a duration from now to at most 100000 days ago"),
]


def test_where_refuses_what_it_cannot_evaluate_in_one_error(repo: Path) -> None:
    gitrun(repo, "-q", "--", "true")
    for expression, message in WHERE_LIMITS:
        proc = gitrun(repo, "list", "--where", expression, check=False)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("git-run: error: invalid --where expression") and message in proc.stderr
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def test_an_alias_bomb_in_params_is_refused_at_once_and_the_run_goes_on(repo: Path) -> None:
    (repo / "bomb.yaml").write_text(alias_bomb())
    (repo / "conf.yaml").write_text(alias_bomb())
    started = time.monotonic()
    proc = gitrun(repo, "--params", "bomb.yaml", "--", "python", "train.py", "--config", "conf.yaml", timeout=120)
    assert time.monotonic() - started < 60  # it took 267 s and 9.7 GB before
    assert proc.returncode == 0
    assert "--params" in proc.stderr and "bomb.yaml: not recorded" in proc.stderr and "alias bomb" in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "bomb.yaml" in line]) == 1
    shown = json.loads(gitrun(repo, "show", "--json", _last(repo)).stdout)
    assert shown["status"] == "succeeded"
    assert not any(key.startswith(("a.", "b.", "i.")) for key in shown.get("params", {}))


def _last(repo: Path) -> str:
    return str(json.loads(gitrun(repo, "list", "--json").stdout)[0]["id"])


@pytest.mark.parametrize("suffix, text", [
    (".yaml", alias_bomb()),
    (".yaml", "x: " + "[" * 5000 + "]" * 5000),
    (".yaml", "".join(" " * depth + "a:\n" for depth in range(1000))),
    (".json", "[" * 100_000 + "]" * 100_000),
    (".json", '{"a":' * 100 + "1" + "}" * 100),
    (".toml", "a" + ".a" * 10_000 + " = 1\n"),
    (".toml", "x = " + "[" * 5000 + "]" * 5000),
])
def test_parameter_files_are_bounded(suffix: str, text: str) -> None:
    started = time.monotonic()
    with pytest.raises(ValueError, match=r"deep|alias bomb"):
        parse_param_text(text, suffix)
    assert time.monotonic() - started < 10


def test_ordinary_parameter_files_still_parse() -> None:
    yaml_text = "lr: 0.1\nmodel: &m {layers: [64, 128], act: relu}\nteacher: *m\nopt:\n  betas: [0.9, 0.99]\n"
    assert parse_param_text(yaml_text, ".yml") == {"lr": 0.1, "model": {"layers": [64, 128], "act": "relu"},
                                                   "teacher": {"layers": [64, 128], "act": "relu"},
                                                   "opt": {"betas": [0.9, 0.99]}}
    assert parse_param_text('{"a": {"b": [1, 2]}}', ".json") == {"a": {"b": [1, 2]}}
    assert parse_param_text("a.b.c = 1\n[t]\nx = 2\n", ".toml") == {"a": {"b": {"c": 1}}, "t": {"x": 2}}


def test_a_fifo_named_like_a_parameter_file_is_not_waited_for(tmp_path: Path) -> None:
    fifo = tmp_path / "conf.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        load_param_file(fifo)  # opening it for reading used to block until a writer came


def test_a_parameter_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text('{"a": "' + "x" * (2 * 1024 * 1024) + '"}')
    with pytest.raises(ValueError, match="larger than"):
        load_param_file(big)


BACKTRACKING = ["(a+)+$", "(a|aa)+$", "(a+a+)+b", "(.*a){20}$"]


@pytest.mark.parametrize("pattern", BACKTRACKING)
def test_a_backtracking_regex_is_stopped_with_one_error(pattern: str) -> None:
    """A value from a hostile run against a pattern that backtracks exponentially: stopped, not hung."""
    query = parse(f'message ~ "{pattern}"')
    hostile = "a" * 5000 + "!"
    started = time.monotonic()
    with pytest.raises(RegexTimeout, match="took over"):
        query.matches(lambda path: [hostile] if path == ("message",) else [], datetime.now(UTC))
    assert time.monotonic() - started < 5  # without the timeout: longer than the age of the universe


def test_regexes_still_match_and_overlong_ones_are_refused() -> None:
    now = datetime.now(UTC)
    query = parse('message ~ "^lr=0\\.[0-9]+ (adam|sgd)$"')
    assert query.matches(lambda path: ["lr=0.01 adam"], now)
    assert not query.matches(lambda path: ["lr=0.01 rmsprop"], now)
    with pytest.raises(QueryError, match="longer than 1000"):
        parse(f'message ~ "{"a" * 1001}"')
    with pytest.raises(QueryError, match="invalid regular expression"):
        parse('message ~ "(unclosed"')


def test_list_stops_a_backtracking_regex_on_a_pulled_run_in_one_line(repo: Path) -> None:
    forged_run(repo, {"train.py": b"x"}, doc={"message": "a" * 20_000 + "!"})
    started = time.monotonic()
    proc = gitrun(repo, "list", "--where", 'message ~ "(a+)+$"', check=False, timeout=60)
    assert time.monotonic() - started < 30
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("git-run: error: the regular expression '(a+)+$' took over"), proc.stderr
    assert "Traceback" not in proc.stderr


def plain_yaml(size: int) -> str:
    """An ordinary (no aliases) YAML config of about ``size`` bytes: flow mappings under one mapping."""
    lines, total, index = [], 0, 0
    while total < size:
        line = f"layer_{index}: {{lr: 0.{index:05d}, name: block {index}, sizes: [1, 2, 3, {index}]}}\n"
        lines.append(line)
        total += len(line)
        index += 1
    return "".join(lines)


def test_yaml_parsing_stops_at_its_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain (not a bomb) YAML file that takes too long is refused with one line, not waited for."""
    import gitrun.capture.params as params

    text = plain_yaml(200_000)
    assert len(parse_param_text(text, ".yaml")) > 2000  # within the limit: read whole
    monkeypatch.setattr(params, "YAML_SECONDS", 0.0)
    with pytest.raises(ValueError, match=r"took more than 0 s to parse"):
        parse_param_text(text, ".yaml")


def test_yaml_parsing_leaves_the_garbage_collector_as_it_found_it() -> None:
    """The parse runs with the collector off (it rescanned the growing node graph: quadratic time)."""
    import gc

    assert gc.isenabled()
    parse_param_text(plain_yaml(10_000), ".yaml")
    assert gc.isenabled()
    with pytest.raises(ValueError):
        parse_param_text("a: [", ".yaml")
    assert gc.isenabled()
    gc.disable()
    try:
        parse_param_text(plain_yaml(10_000), ".yaml")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_sweep_file_is_bounded_like_every_config_file(tmp_path: Path) -> None:
    """`git run sweep --file` read its YAML with PyYAML's pure-Python loader and no alias-bomb check."""
    from gitrun.commands.sweep import _load_sweep_file
    from gitrun.errors import UsageError

    bomb = tmp_path / "sweep.yaml"
    bomb.write_text("program: train.py\nmethod: grid\n" + alias_bomb())
    with pytest.raises(UsageError, match="alias bomb"):
        _load_sweep_file(bomb)
    big = tmp_path / "big.yaml"
    big.write_text("program: train.py\n" + plain_yaml(1_100_000))
    with pytest.raises(UsageError, match="larger than"):
        _load_sweep_file(big)
    good = tmp_path / "good.yaml"
    good.write_text("program: train.py\nmethod: grid\nparameters:\n  lr: {values: [0.1, 0.01]}\n")
    assert _load_sweep_file(good)["parameters"] == {"lr": {"values": [0.1, 0.01]}}


def test_override_targets_are_read_within_the_size_limit(tmp_path: Path) -> None:
    """`rerun --set` looks for keys in parameter files: a 2 MiB one is not read whole any more."""
    from gitrun.capture.overrides import param_file_keys

    big = tmp_path / "params.json"
    big.write_text('{"lr": 0.1, "pad": "' + "x" * (2 * 1024 * 1024) + '"}')
    assert param_file_keys(big) == set()
    big.write_text('{"lr": 0.1, "pad": "x"}')
    assert param_file_keys(big) == {"lr", "pad"}
