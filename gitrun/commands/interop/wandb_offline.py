"""W&B offline runs (``wandb/offline-run-*/``, ``WANDB_MODE=offline``) read into ``ForeignRun`` values.

The run's transaction log ``run-<id>.wandb`` holds everything: the run record (id, name, project,
tags, notes, host, start time, config, git), config updates, every ``log()`` row (history, with
``_step`` and ``_timestamp``), summary updates, the console output and the exit record. Recent
wandb releases left their Python reader of this file out (the Go core reads it), so the framing
is read here: LevelDB's log format behind a 7-byte W&B header, each fragment CRC-32-checked (a
torn tail, as a killed run leaves, ends the file); the records are decoded with the wandb
package's own protocol buffer classes (``wandb.proto.wandb_internal_pb2.Record``).
``files/config.yaml``, ``files/wandb-summary.json`` and ``files/wandb-metadata.json``, which some
versions write beside it, fill in what the log lacks.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gitrun.capture.hashing import hash_bytes, hash_file
from gitrun.capture.params import parse_param_text, read_param_text
from gitrun.commands.interop.extras import require
from gitrun.commands.interop.imported import OUTPUT_STORE_LIMIT, ForeignFile, ForeignRun, flatten
from gitrun.errors import UsageError
from gitrun.model import status as statuses
from gitrun.model.series import SeriesPoint
from gitrun.model.timefmt import to_iso

HEADER = struct.Struct("<4sHB")  # ":W&B", magic 0xBEE1, version
HEADER_IDENT = b":W&B"
BLOCK = 32768
FRAGMENT = struct.Struct("<IHB")  # CRC-32 of type byte + data, length, type
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
# W&B's own files in files/: read for what they say, not kept as outputs.
OWN_FILES = {"output.log", "requirements.txt", "config.yaml", "wandb-summary.json", "wandb-metadata.json"}
MAX_FILES = 10_000


def run_logs(folder: Path) -> list[Path]:
    """The ``run-*.wandb`` files of a run folder, or of every run folder inside ``folder``."""
    if not folder.exists():
        raise UsageError(f"no such folder: {folder}", hint="give a W&B run folder or the wandb/ folder holding them")
    found = sorted(folder.glob("run-*.wandb")) or sorted(folder.glob("*/run-*.wandb"))
    found = list({path.resolve(): path for path in found}.values())  # latest-run links to a run folder
    if not found:
        raise UsageError(f"{folder} holds no W&B run (no run-*.wandb file)",
                         hint="give a folder such as wandb/offline-run-20260101_120000-abcd1234, or wandb/")
    return found


def read_runs(folder: Path) -> tuple[list[ForeignRun], list[str]]:
    logs = run_logs(folder)  # a wrong folder is said before a missing package
    pb = require("wandb.proto.wandb_internal_pb2", "wandb")
    runs: list[ForeignRun] = []
    notes: list[str] = []
    for log in logs:
        try:
            runs.append(_read_run(pb, log))
        except (OSError, ValueError) as err:
            notes.append(f"{log}: not read ({err})")
    return runs, notes


def records(data: bytes) -> Iterator[bytes]:
    """The records of a W&B transaction log; stops at the first damaged fragment."""
    if len(data) < HEADER.size or HEADER.unpack_from(data)[0] != HEADER_IDENT:
        raise ValueError("not a W&B transaction log")
    position = HEADER.size
    pending = b""
    while position + FRAGMENT.size <= len(data):
        left_in_block = BLOCK - position % BLOCK
        if left_in_block < FRAGMENT.size:  # the block's zero padding
            position += left_in_block
            continue
        checksum, length, kind = FRAGMENT.unpack_from(data, position)
        start = position + FRAGMENT.size
        chunk = data[start:start + length]
        if kind == 0 or len(chunk) < length or zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != checksum:
            return  # padding, a torn write or damage: what came before is kept
        position = start + length
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            yield pending + chunk
            pending = b""


class _Run:
    """What the records say, gathered as they are read."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.config: dict[str, Any] = {}
        self.summary: dict[str, Any] = {}
        self.series: dict[str, list[SeriesPoint]] = {}
        self.output: list[str] = []
        self.exit_code: int | None = None
        self.runtime: float | None = None
        self.last_step = 0
        self.last_time: float | None = None


def _read_run(pb: Any, log: Path) -> ForeignRun:
    state = _Run()
    for data in records(log.read_bytes()):
        record = pb.Record()
        record.ParseFromString(data)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            _run_record(state, record.run)
        elif kind == "config":
            _apply_updates(state.config, record.config.update, record.config.remove)
        elif kind == "history":
            _history(state, record.history)
        elif kind == "summary":
            _apply_updates(state.summary, record.summary.update, record.summary.remove)
        elif kind == "output_raw":
            state.output.append(record.output_raw.line)
        elif kind == "exit":
            state.exit_code, state.runtime = int(record.exit.exit_code), float(record.exit.runtime)
    _files_beside(state, log.parent / "files")
    return _foreign(state, log)


def _run_record(state: _Run, run: Any) -> None:
    info = state.info
    info.update(id=run.run_id, name=run.display_name, project=run.project, entity=run.entity,
                tags=list(run.tags), notes=run.notes, host=run.host, group=run.run_group, job_type=run.job_type)
    if run.HasField("start_time"):
        info["started"] = run.start_time.seconds + run.start_time.nanos / 1e9
    if run.HasField("git"):
        info.update(commit=run.git.commit, remote_url=run.git.remote_url)
    _apply_updates(state.config, run.config.update, run.config.remove)


def _key(item: Any) -> str:
    return item.key or "/".join(item.nested_key)


def _apply_updates(target: dict[str, Any], updates: Any, removes: Any = ()) -> None:
    for item in updates:
        try:
            target[_key(item)] = json.loads(item.value_json)
        except ValueError:
            continue
    for item in removes:
        target.pop(_key(item), None)


def _history(state: _Run, history: Any) -> None:
    row: dict[str, Any] = {}
    _apply_updates(row, history.item)
    step = row.get("_step")
    step = int(step) if isinstance(step, int | float) and not isinstance(step, bool) else int(history.step.num)
    when = row.get("_timestamp")
    when = float(when) if isinstance(when, int | float) else (state.last_time or 0.0)
    state.last_step, state.last_time = step, when
    for name, value in row.items():
        if name.startswith("_") or not _is_number(value):
            continue  # W&B's own keys, and media/histograms
        state.series.setdefault(name, []).append((step, when, float(value)))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _files_beside(state: _Run, files: Path) -> None:
    """config.yaml / wandb-summary.json / wandb-metadata.json, when this wandb version wrote them."""
    if not state.config and (files / "config.yaml").is_file():
        try:  # bounded like every config file gitrun reads (size, depth, time, alias bombs)
            loaded = parse_param_text(read_param_text(files / "config.yaml"), ".yaml") or {}
        except (OSError, UnicodeDecodeError, ValueError):
            loaded = {}
        if isinstance(loaded, dict):
            state.config = {key: value.get("value") if isinstance(value, dict) and "value" in value else value
                            for key, value in loaded.items()}
    for name, target in (("wandb-summary.json", state.summary), ("wandb-metadata.json", state.info)):
        try:
            loaded = json.loads((files / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(loaded, dict):
            for key, value in loaded.items():
                target.setdefault(key, value)
    if not state.output and (files / "output.log").is_file():
        try:
            state.output.append((files / "output.log").read_text(encoding="utf-8", errors="replace"))
        except OSError:
            pass


def _foreign(state: _Run, log: Path) -> ForeignRun:
    info = state.info
    run_id = str(info.get("id") or log.stem.removeprefix("run-"))
    started = datetime.fromtimestamp(float(info["started"]), UTC) if info.get("started") else None
    ended = started + timedelta(seconds=state.runtime) if started and state.runtime is not None else None
    if ended and state.last_time and state.last_time > ended.timestamp():  # runtime is whole seconds
        ended = datetime.fromtimestamp(state.last_time, UTC)
    if state.exit_code is None:
        status = statuses.CRASHED  # no exit record: the process died (W&B shows it as crashed too)
    else:
        status = statuses.SUCCEEDED if state.exit_code == 0 else statuses.FAILED
    series = dict(state.series)
    for name, value in state.summary.items():  # summary-only numbers (run.summary["best"] = 0.9)
        if not name.startswith("_") and name not in series and _is_number(value):
            series[name] = [(state.last_step, state.last_time or (started.timestamp() if started else 0.0),
                             float(value))]
    config = {key: value for key, value in state.config.items() if not key.startswith("_wandb")}
    details = {key: str(info[key]) for key in ("project", "entity", "group", "job_type") if info.get(key)}
    details["folder"] = str(log.parent)
    program = info.get("program")
    command = ["python", str(program), *[str(arg) for arg in info.get("args") or []]] if program else []
    output = "".join(state.output)
    files_dir = log.parent / "files"
    git: dict[str, Any] = info["git"] if isinstance(info.get("git"), dict) else {}
    commit = info.get("commit") or git.get("commit")
    remote_url = info.get("remote_url") or git.get("remote")
    return ForeignRun(
        tool="wandb", foreign_id=run_id, source=str(log.parent), name=str(info.get("name") or ""),
        status=status, started=started, ended=ended, message=str(info.get("notes") or ""),
        params=flatten(config), series=series, tags=[str(tag) for tag in info.get("tags") or []],
        user=str(info["username"]) if info.get("username") else None,
        host=str(info["host"]) if info.get("host") else None, command=command,
        commit=str(commit) if commit else None, remote_url=str(remote_url) if remote_url else None,
        details=details, log=output.encode("utf-8") if output else None,
        files=saved_files(files_dir), packages=requirements(files_dir / "requirements.txt"),
    )


def saved_files(folder: Path) -> list[ForeignFile]:
    """The files the run saved (``wandb.save``, code, media): outputs, stored up to the store limit."""
    found: list[ForeignFile] = []
    if not folder.is_dir():
        return found
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if relative in OWN_FILES or path.is_symlink() or not path.is_file():
            continue
        if len(found) >= MAX_FILES:
            break
        try:
            stat = path.stat()
            data = path.read_bytes() if stat.st_size <= OUTPUT_STORE_LIMIT else None
            digest = hash_bytes(data) if data is not None else hash_file(path)
        except OSError:
            continue
        modified = to_iso(datetime.fromtimestamp(stat.st_mtime, UTC))
        found.append(ForeignFile(relative, stat.st_size, digest, data, modified))
    return found


def requirements(path: Path) -> list[dict[str, str]]:
    """``name==version`` lines of W&B's requirements.txt as env.packages entries."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    packages = []
    for line in lines:
        name, separator, version = line.strip().partition("==")
        if separator and name and version:
            packages.append({"name": name, "version": version, "installer": "pip"})
    return packages
