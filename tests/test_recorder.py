"""The recorder's last line: how the run ended and, when its --expect was missed, by what."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gitrun.runner.recorder import expectation_missed
from tests.conftest import gitrun


def test_a_missed_expectation_is_on_the_last_line(repo: Path) -> None:
    proc = gitrun(repo, "--expect", "metrics.acc > 0.9", "--", "python", "-c", "print('epoch 1 acc: 0.84')")
    last = proc.stderr.strip().splitlines()[-1]
    said = r" succeeded in \S+ \(exit 0\); expectation missed: metrics\.acc > 0\.9 \(got 0\.84\)$"
    assert re.search(said, last), last
    once = gitrun(repo, "--expect", "metrics.acc > 0.5", "--", "python", "-c", "print('acc: 0.84')")
    assert once.stderr.strip().splitlines()[-1].endswith(  # printed once: a console fact, and said so
        "expectation missed: metrics.acc > 0.5 (metrics.acc was not recorded (printed once, 0.84: a console fact, "
        "not a metric series))")
    met = gitrun(repo, "--expect", "metrics.acc > 0.5", "--", "python", "-c", "print('epoch 1 acc: 0.84')")
    assert "expectation" not in met.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("expect, said", [
    ({"expression": "metrics.acc > 0.9", "met": False, "detail": "metrics.acc = 0.84"},
     "metrics.acc > 0.9 (got 0.84)"),
    ({"expression": "status == succeeded and exit_code == 0", "met": False,
      "detail": "status = failed; exit_code = 2"},
     "status == succeeded and exit_code == 0 (status = failed; exit_code = 2)"),
    ({"expression": "metrics.loss < 1", "met": False, "detail": "metrics.loss was not recorded"},
     "metrics.loss < 1 (metrics.loss was not recorded)"),
    ({"expression": "metrics.acc > 0.9", "met": True, "detail": "metrics.acc = 0.95"}, None),
    (None, None),
    ("not a table", None),
])
def test_what_a_missed_expectation_says(expect: object, said: str | None) -> None:
    assert expectation_missed(expect) == said
