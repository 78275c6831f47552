"""The real ``git run ui`` in a real terminal (tmux): it starts, shows the runs, filters as typed, quits."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tui.demo import build_demo

pytestmark = pytest.mark.slow


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[list[str]]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install -y tmux)")
    command = ["tmux", "-L", f"gitrun-test-{os.getpid()}", "-f", "/dev/null"]
    yield command
    subprocess.run([*command, "kill-server"], capture_output=True, check=False)


def screen(tmux: list[str]) -> str:
    return subprocess.run([*tmux, "capture-pane", "-p", "-t", "ui"], capture_output=True, text=True,
                          check=False).stdout


def keys(tmux: list[str], *names: str) -> None:
    for name in names:
        subprocess.run([*tmux, "send-keys", "-t", "ui", name], check=True)
        time.sleep(0.02)


def wait_for_screen(tmux: list[str], check: Any, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen(tmux)
        if check(text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"the screen never showed what was expected:\n{text}")


def test_ui_in_a_real_terminal(tmux: list[str], tmp_path: Path) -> None:
    demo = build_demo(tmp_path)
    env = {**os.environ, "TERM": "xterm-256color"}
    subprocess.run([*tmux, "new-session", "-d", "-s", "ui", "-x", "100", "-y", "30", "-c", demo["repo"],
                    f"{sys.executable} -m gitrun ui; sleep 30"], env=env, check=True)
    text = wait_for_screen(tmux, lambda s: "brisk-heron-42" in s)
    assert text.index("swift-crane-51") < text.index("brisk-heron-42")  # newest first
    assert "bold-tern-90" not in text  # another branch's run: hidden by default
    # Typed as a person types, key by key: a burst of keys in one read may be taken as one paste.
    filter_line = ""
    for _attempt in range(5):
        keys(tmux, "/", "C-u", *"status == failed")
        try:
            filter_line = wait_for_screen(tmux, lambda s: s.splitlines()[1].strip() == "status == failed",
                                          timeout=3)
            break
        except AssertionError:
            continue
    assert filter_line
    keys(tmux, "Enter")  # back to the table
    text = wait_for_screen(tmux, lambda s: "brisk-heron-42" not in s)
    assert "eager-lynx-08" in text and "1 of 6 runs" in text
    keys(tmux, "Enter")  # open the run
    text = wait_for_screen(tmux, lambda s: "overview" in s and "params" in s)
    assert "lr 1.0 diverges?" in text
    keys(tmux, "Escape")
    wait_for_screen(tmux, lambda s: "1 of 6 runs" in s)
    keys(tmux, "q")
    wait_for_screen(tmux, lambda s: "gitrun ·" not in s)
