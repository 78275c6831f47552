"""What the recorder's start-up and exit shortcuts (bench/bench_record.py) must not change for users.

After a recording, ``git run`` leaves without the interpreter's teardown; it imports pygit2 with the
CA bundle hidden. Neither may lose output, change the exit status, or leak into the child's
environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import gitrun

PRINT_ENV = "import os; print('SSL_CERT_FILE=' + repr(os.environ.get('SSL_CERT_FILE')))"


def test_the_child_sees_the_users_ssl_cert_file(repo: Path) -> None:
    proc = gitrun(repo, "--", sys.executable, "-c", PRINT_ENV, env={"SSL_CERT_FILE": "/etc/my-ca.pem"})
    assert "SSL_CERT_FILE='/etc/my-ca.pem'" in proc.stdout


def test_the_child_sees_ssl_cert_file_unset_when_the_user_has_none(repo: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "SSL_CERT_FILE"}
    proc = subprocess.run([sys.executable, "-m", "gitrun", "--", sys.executable, "-c", PRINT_ENV], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=120, check=True)
    assert "SSL_CERT_FILE=None" in proc.stdout


def test_exit_status_and_every_line_of_output_survive_the_fast_exit(repo: Path) -> None:
    script = ("import sys\nfor i in range(2000):\n    print('line', i)\n"
              "print('to stderr', file=sys.stderr)\nsys.exit(7)\n")
    (repo / "noisy.py").write_text(script)
    proc = gitrun(repo, "--", sys.executable, "noisy.py", check=False)
    assert proc.returncode == 7
    assert proc.stdout.splitlines()[-1] == "line 1999"
    assert len(proc.stdout.splitlines()) == 2000
    assert "to stderr" in proc.stderr
    # gitrun's own last words are written after the run is stored, just before the shortcut exit.
    assert "failed" in proc.stderr.splitlines()[-1] and "exit 7" in proc.stderr.splitlines()[-1]


def test_a_run_is_listed_after_the_fast_exit(repo: Path) -> None:
    gitrun(repo, "-q", "--", "true")
    listing = gitrun(repo, "list").stdout
    assert "succeeded" in listing
