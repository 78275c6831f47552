"""Secrets never reach what gitrun stores: every git object a recorded run creates is searched.

Each test records a real run whose command line, message, parameters, environment, console
output, outputs or code changes hold fake secrets (built at run time, see tests/secret_corpus.py),
then reads back every object in the repository: none may hold a secret, and what was hidden is
named (``--api-key <redacted:openai-key>``, an output left out with its reason).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import git, gitrun
from tests.run_fixtures import store
from tests.secret_corpus import Fakes

FAKE = Fakes(seed=2024)
OPENAI = FAKE.openai()
GITHUB = FAKE.github()
HF = FAKE.huggingface()
AWS_SECRET = FAKE.aws_secret()
SLACK = FAKE.slack_bot()
PASSWORD = "Tr0ub4dor-" + FAKE.chars("abcdefgh", 6)


def all_objects(repo: Path) -> bytes:
    """The content of every object in the repository (loose and packed), concatenated."""
    return subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo, capture_output=True,
                          check=True).stdout


def assert_nowhere(repo: Path, *secrets: str) -> None:
    everything = all_objects(repo)
    for secret in secrets:
        assert secret.encode() not in everything, f"{secret[:12]}... was stored"


def only_run(repo: Path) -> dict[str, Any]:
    """The stored metadata of the repository's only run, with its result commit."""
    runs = store(repo).list_runs()
    assert len(runs) == 1
    return {**runs[0].doc, "result_commit": runs[0].result_commit}


def test_command_line_message_and_params_are_stored_redacted_with_names_kept(repo: Path) -> None:
    (repo / "train.py").write_text(
        "import argparse\n"
        "p = argparse.ArgumentParser()\n"
        "for name in ('--api-key', '--token', '--db', '--db-password', '--lr', '--params'):\n"
        "    p.add_argument(name)\n"
        "args, rest = p.parse_known_args()\n"
        "print('started')\n"
    )
    (repo / "secret_params.yaml").write_text(f"hub_token: {HF}\nlr: 0.1\nwarehouse:\n  password: {PASSWORD}\n")
    (repo / ".gitrunignore").write_text("secret_params.yaml\n")  # left out of the snapshot, still a param file
    gitrun(repo, "-m", f"retry with {SLACK}", "--params", "secret_params.yaml", "--",
           sys.executable, "train.py", "--api-key", OPENAI, f"--token={GITHUB}", "--db",
           f"https://ada:{PASSWORD}@db.example.com/runs", "--db-password", PASSWORD, "--lr", "0.01",
           f"hf={HF}")

    assert_nowhere(repo, OPENAI, GITHUB, HF, PASSWORD, SLACK)
    run = only_run(repo)
    command = run["command"]
    assert command[command.index("--api-key") + 1] == "<redacted:openai-key>"
    assert "--token=<redacted:github-token>" in command
    assert "https://ada:<redacted:url-password>@db.example.com/runs" in command
    assert command[command.index("--db-password") + 1] == "<redacted:secret>"
    assert command[command.index("--lr") + 1] == "0.01"
    assert "<redacted:slack-token>" in run["message"]
    assert run["params"]["lr"] == 0.01 or run["params"]["lr"] == "0.01"
    named = {(entry["field"], entry["name"]) for entry in run["redacted"]}
    assert {("command", "--api-key"), ("command", "--token"), ("command", "--db-password"),
            ("command", "hf")} <= named
    log = git(repo, "log", "--all", "--format=%B")
    assert SLACK not in log and "<redacted:slack-token>" in log


def test_environment_values_are_redacted_under_any_name(repo: Path) -> None:
    odbc = f"Driver={{ODBC Driver 18}};Server=db;Uid=ada;Pwd={PASSWORD};"
    gitrun(repo, "--", "true", env={"S3_THING": AWS_SECRET, "WAREHOUSE": odbc, "DB_PASS": "plainword",
                                    "AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;AccountKey=" + "Ab3d" * 22})
    assert_nowhere(repo, AWS_SECRET, PASSWORD, "plainword", "Ab3d" * 22)


def test_console_output_is_stored_redacted(repo: Path) -> None:
    script = f"print('token is {GITHUB}'); print('conn postgresql://u:{PASSWORD}@h/db'); print('done')"
    proc = gitrun(repo, "--", sys.executable, "-c", script)
    assert GITHUB in proc.stdout  # the user's own terminal sees everything
    assert_nowhere(repo, GITHUB, PASSWORD)
    run = only_run(repo)
    log = git(repo, "show", f"{run['result_commit']}:logs/output.log")
    assert "token is <redacted:github-token>" in log and "done" in log


def test_secret_outputs_are_left_out_with_the_reason_and_public_ones_kept(repo: Path) -> None:
    key = FAKE.private_key()
    script = (
        "from pathlib import Path\n"
        "Path('out').mkdir()\n"
        f"Path('out/.env').write_text('DB_PASSWORD={PASSWORD}\\n')\n"
        f"Path('out/id_ed25519').write_text('''{key}\\n''')\n"
        f"Path('out/server.pem').write_text('''{key}\\n''')\n"
        f"Path('out/config.json').write_text('{{\"token\": \"{GITHUB}\"}}')\n"
        "Path('out/ca-bundle.pem').write_text('-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n')\n"
        "Path('out/model.key').write_text('layer.0.weight\\n')\n"
        "Path('out/metrics.json').write_text('{\"acc\": 0.9}')\n"
    )
    (repo / "make_outputs.py").write_text(script)
    gitrun(repo, "--", sys.executable, "make_outputs.py")
    assert_nowhere(repo, PASSWORD, GITHUB, key.splitlines()[1])
    run = only_run(repo)
    outputs = {entry["path"]: entry for entry in run["outputs"]}
    for secret in ("out/.env", "out/id_ed25519", "out/server.pem", "out/config.json"):
        assert outputs[secret]["stored"] is False, secret
        assert outputs[secret]["not_stored"].startswith("secret: "), outputs[secret]
        assert "hash" not in outputs[secret]
    for public in ("out/ca-bundle.pem", "out/model.key", "out/metrics.json"):
        assert outputs[public]["stored"] is True, public


def test_a_secret_late_in_a_large_tracked_file_keeps_it_out_of_the_snapshot(repo: Path) -> None:
    filler = b"0.1,0.2,0.3,0.4\n" * (11 * 1024 * 1024 // 16)  # 11 MiB: over the old 10 MiB scan limit
    (repo / "table.csv").write_bytes(filler)
    git(repo, "add", "table.csv")
    git(repo, "commit", "-q", "-m", "data")
    (repo / "table.csv").write_bytes(filler + f"token,{GITHUB}\n".encode())
    proc = gitrun(repo, "--", "true")
    assert "table.csv" in proc.stderr
    assert_nowhere(repo, GITHUB)
    excluded = {item["path"]: item["reason"] for item in only_run(repo)["snapshot"]["excluded"]}
    assert excluded["table.csv"] == "content looks like a secret (github-token)"


def test_a_large_changed_file_is_scanned_once_while_it_stays_the_same(repo: Path, monkeypatch: Any) -> None:
    from gitrun.capture import code
    from gitrun.store.config import load_settings
    from gitrun.store.git import open_repository

    monkeypatch.setattr(code.ScanMemo, "RACY_NS", 0)
    scans: list[Path] = []
    real_scan = code._content_secret
    monkeypatch.setattr(code, "_content_secret", lambda path, size: scans.append(path) or real_scan(path, size))
    big = b"0.1,0.2\n" * (9 * 1024 * 1024 // 8)
    (repo / "big.csv").write_bytes(b"old\n")
    git(repo, "add", "big.csv")
    git(repo, "commit", "-q", "-m", "big")
    (repo / "big.csv").write_bytes(big)
    _, paths = open_repository(repo)
    settings = load_settings(paths.workdir)
    assert code.snapshot_code(paths, settings).excluded == []
    assert code.snapshot_code(paths, settings).excluded == []
    assert len(scans) == 1  # the second snapshot knew the file
    tail = f"t={GITHUB}\n".encode()
    (repo / "big.csv").write_bytes(big[:-len(tail)] + tail)  # same size: the change time tells
    excluded = code.snapshot_code(paths, settings).excluded
    assert [item.reason for item in excluded] == ["content looks like a secret (github-token)"]
    assert len(scans) == 2
