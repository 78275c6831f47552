"""Imported runs (any tracker) stored as ordinary runs, TensorBoard export, bad input: no heavy package needed.

The round trips with the real MLflow, DVC and W&B packages are in tests/test_interop_trackers.py (slow).
"""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gitrun.capture.tensorboard import read_scalars
from gitrun.commands.context import open_context
from gitrun.commands.interop.imported import ForeignRun, number_or_text, store_foreign_runs
from gitrun.commands.interop.wandb_offline import BLOCK, HEADER, records
from tests.conftest import git, gitrun, user_state
from tests.secret_corpus import Fakes

FAKE = Fakes(seed=7)


def _foreign(**fields: object) -> ForeignRun:
    values: dict[str, object] = {
        "tool": "mlflow", "foreign_id": "abc123", "source": "file:///tmp/mlruns", "name": "baseline-run",
        "started": datetime(2026, 11, 1, 9, 0, tzinfo=UTC), "ended": datetime(2026, 11, 1, 9, 5, tzinfo=UTC),
        "params": {"lr": 0.01, "optimizer.name": "adam"},
        "series": {"loss": [(0, 1793523600.125, 1.0), (5, 1793523601.5, 0.5), (5, 1793523602.0, float("nan")),
                            (10, 1793523603.25, 0.1 + 0.2)],
                   "train/acc": [(-1, 1793523600.0, 0.25)]},
        "labels": {"team": "vision"},
    }
    values.update(fields)
    return ForeignRun(**values)  # type: ignore[arg-type]


def test_an_imported_run_is_an_ordinary_run_with_every_point_and_the_recorded_commit(repo: Path) -> None:
    commit = git(repo, "rev-parse", "HEAD").strip()
    (repo / "train.py").write_text("print('edited, not committed')\n")
    before = user_state(repo)
    result = store_foreign_runs(open_context(repo), [_foreign(commit=commit, branch="main")])
    assert user_state(repo) == before  # index, HEAD, branches, files untouched
    run = result.imported[0][1]
    shown = gitrun(repo, "show", run.id, "--json").stdout
    assert '"imported_from": "mlflow:abc123"' in shown and '"team": "vision"' in shown
    assert git(repo, "rev-parse", f"{run.snapshot_commit}^{{tree}}").strip() == \
        git(repo, "rev-parse", f"{commit}^{{tree}}").strip()  # the recorded commit's code, not the edit
    assert git(repo, "rev-parse", f"{run.snapshot_commit}^").strip() == commit
    csv = gitrun(repo, "metrics", run.id, "--csv").stdout.splitlines()
    assert csv[1:] == ["loss,0,1793523600.125,1", "loss,5,1793523601.500,0.5", "loss,5,1793523602.000,nan",
                       "loss,10,1793523603.250,0.30000000000000004", "train/acc,-1,1793523600.000,0.25"]
    listed = gitrun(repo, "list", "--where", "params.lr < 0.1", "--columns", "name,params.optimizer.name").stdout
    assert "baseline-run" in listed and "adam" in listed


def test_importing_again_adds_nothing(repo: Path) -> None:
    first = store_foreign_runs(open_context(repo), [_foreign()])
    again = store_foreign_runs(open_context(repo), [_foreign(), _foreign(foreign_id="other", name="")])
    assert len(first.imported) == 1 and [run.id for _, run in again.skipped] == [first.imported[0][1].id]
    assert len(again.imported) == 1
    assert len(git(repo, "for-each-ref", "refs/experiments").splitlines()) == 2


def test_unknown_code_is_heads_tree_says_so_and_the_guard_stops_it(repo: Path) -> None:
    run = store_foreign_runs(open_context(repo), [_foreign(commit="deadbeef" * 5)]).imported[0][1]
    assert git(repo, "rev-parse", f"{run.snapshot_commit}^{{tree}}").strip() == \
        git(repo, "rev-parse", "HEAD^{tree}").strip()
    missing = run.doc["missing"]["code"]
    assert "not known" in missing and "deadbeef" in missing
    guard = gitrun(repo, "check", run.id, "--only", "code", check=False)
    assert guard.returncode == 1 and "the code of this imported run is not known" in guard.stdout + guard.stderr
    known = store_foreign_runs(open_context(repo), [_foreign(foreign_id="known", name="",
                                                             commit=git(repo, "rev-parse", "HEAD").strip())])
    assert gitrun(repo, "check", known.imported[0][1].id, "--only", "code", check=False).returncode == 0


def test_imported_text_goes_through_the_secret_detector(repo: Path) -> None:
    token = FAKE.github()
    foreign = _foreign(params={"api_token": token, "note": f"key {token}"}, message=f"uses {token}",
                       labels={"auth": token}, log=f"logged in with {token}\n".encode())
    run = store_foreign_runs(open_context(repo), [foreign]).imported[0][1]
    note = git(repo, "notes", "--ref=gitrun", "show", run.snapshot_commit)
    log = gitrun(repo, "show", run.id, "--log").stdout
    commit_message = git(repo, "log", "-1", "--format=%B", run.snapshot_commit)
    for text in (note, log, commit_message):
        assert token not in text
    assert "<redacted" in note and "<redacted" in log


def test_an_invalid_or_taken_name_gets_a_generated_one(repo: Path) -> None:
    ctx = open_context(repo)
    first = store_foreign_runs(ctx, [_foreign(name="my run/1")]).imported[0][1]
    second = store_foreign_runs(ctx, [_foreign(foreign_id="b", name="my-run-1")]).imported[0][1]
    assert first.name == "my-run-1" and second.name != "my-run-1"
    assert second.doc["imported"]["name"] == "my-run-1"


def test_parameters_kept_as_text_become_numbers_only_when_spelt_as_such() -> None:
    assert [number_or_text(text) for text in ("32", "0.01", "1e-3", "007", "adam", "nan", "True")] == \
        [32, 0.01, "1e-3", "007", "adam", "nan", "True"]


def test_tensorboard_export_reads_back_every_point(repo: Path, tmp_path: Path) -> None:
    run = store_foreign_runs(open_context(repo), [_foreign()]).imported[0][1]
    out = tmp_path / "tb"
    proc = gitrun(repo, "export", "tensorboard", run.id, str(out))
    assert "5 scalar(s)" in proc.stdout
    files = list(out.glob("*/events.out.tfevents.*"))
    assert len(files) == 1 and files[0].parent.name.startswith("baseline-run-")
    scalars = read_scalars(files[0], use_package=False)
    got = sorted((s.tag, s.step, round(s.wall_time, 3), s.value) for s in scalars)
    expected = sorted([("loss", 0, 1793523600.125, 1.0), ("loss", 5, 1793523601.5, 0.5),
                       ("loss", 10, 1793523603.25, 0.3),  # float32, read as its shortest decimal
                       ("train/acc", -1, 1793523600.0, 0.25)])
    assert [item for item in got if item[3] == item[3]] == expected  # the NaN point is there too, unequal to itself
    assert len(got) == 5
    gitrun(repo, "export", "tensorboard", run.id, str(out))  # again: the same file rewritten, not a second one
    assert len(list(out.glob("*/events.out.tfevents.*"))) == 1


def _wandb_log(payloads: list[bytes]) -> bytes:
    """A W&B transaction log: the header, then LevelDB log fragments (split across 32 KiB blocks)."""
    out = bytearray(HEADER.pack(b":W&B", 0xBEE1, 0))
    for payload in payloads:
        first = True
        while True:
            left = BLOCK - len(out) % BLOCK
            if left < 7:
                out += b"\0" * left
                left = BLOCK
            chunk, payload = payload[:left - 7], payload[left - 7:]
            kind = (1 if first else 4) if not payload else (2 if first else 3)
            out += struct.pack("<IHB", zlib.crc32(chunk, zlib.crc32(bytes([kind]))), len(chunk), kind) + chunk
            first = False
            if not payload:
                break
    return bytes(out)


def test_wandb_log_framing_joins_fragments_and_stops_at_damage() -> None:
    payloads = [b"a" * 10, b"b" * 70000, b"c" * 5]
    data = _wandb_log(payloads)
    assert list(records(data)) == payloads
    torn = data[:-3]  # a killed run's last write
    assert list(records(torn)) == payloads[:2]
    with pytest.raises(ValueError, match="not a W&B"):
        list(records(b"nonsense"))


def test_bad_import_sources_get_one_line_and_exit_2(repo: Path, tmp_path: Path) -> None:
    missing = gitrun(repo, "import", "mlflow", str(tmp_path / "nowhere"), check=False)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no such file or folder" in missing.stderr
    not_a_store = tmp_path / "plain"
    not_a_store.mkdir()
    (not_a_store / "notes.txt").write_text("hello\n")
    refused = gitrun(repo, "import", "mlflow", str(not_a_store), check=False)
    assert refused.returncode == 2 and "is not an MLflow store" in refused.stderr
    assert sorted(p.name for p in not_a_store.iterdir()) == ["notes.txt"]  # nothing created there
    text_file = tmp_path / "runs.txt"
    text_file.write_text("x")
    assert "not a SQLite database" in gitrun(repo, "import", "mlflow", str(text_file), check=False).stderr
    wandb = gitrun(repo, "import", "wandb", str(not_a_store), check=False)
    assert wandb.returncode == 2 and "holds no W&B run" in wandb.stderr
    assert gitrun(repo, "export", "mlflow", "--to", str(tmp_path / "x"), check=False).returncode == 2
    assert git(repo, "for-each-ref", "refs/experiments") == ""


def test_a_missing_tracker_package_is_named_with_its_extra() -> None:
    from gitrun.commands.interop.extras import require
    from gitrun.errors import UsageError

    with pytest.raises(UsageError) as caught:
        require("no_such_tracker_package.client", "notracker")
    assert "needs the 'no_such_tracker_package' package" in str(caught.value)
    assert caught.value.hint == "pip install 'gitrun[notracker]'"


def test_files_kept_by_the_tracker_become_outputs_and_secret_ones_are_not_stored(repo: Path, tmp_path: Path) -> None:
    from gitrun.capture.hashing import hash_bytes
    from gitrun.commands.interop.imported import ForeignFile

    model = b"weights" * 100
    secret = f"OPENAI_API_KEY={FAKE.openai()}\n".encode()
    files = [ForeignFile("model/best.pt", len(model), hash_bytes(model), model),
             ForeignFile(".env", len(secret), hash_bytes(secret), secret),
             ForeignFile("huge.bin", 5 << 20, "blake3:00", None)]
    run = store_foreign_runs(open_context(repo), [_foreign(files=files, packages=[
        {"name": "torch", "version": "2.13.0", "installer": "pip"}])]).imported[0][1]
    outputs = {entry["path"]: entry for entry in run.doc["outputs"]}
    assert outputs["model/best.pt"]["stored"] is True and outputs["model/best.pt"]["hash"] == hash_bytes(model)
    assert outputs[".env"]["stored"] is False and "hash" not in outputs[".env"]
    assert outputs[".env"]["not_stored"].startswith("secret:")
    assert outputs["huge.bin"]["stored"] is False and outputs["huge.bin"]["hash"] == "blake3:00"
    assert run.doc["env"]["packages"] == [{"name": "torch", "version": "2.13.0", "installer": "pip"}]
    gitrun(repo, "checkout-output", run.id, "model", "--to", str(tmp_path / "out"))
    assert (tmp_path / "out" / "model" / "best.pt").read_bytes() == model
    assert git(repo, "ls-tree", "-r", "--name-only", run.result_commit, "outputs/").split() == ["outputs/model/best.pt"]
