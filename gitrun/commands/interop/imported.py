"""Store runs of another tracker as ordinary gitrun runs, once each.

A ``ForeignRun`` is what a reader (MLflow, DVC, W&B) found; ``store_foreign_runs`` writes each as a
run: a snapshot commit (the recorded commit's tree when that commit is in this repository, else
HEAD's tree with ``missing.code`` saying the code is not known), a note marked
``imported_from = "<tool>:<id>"`` and a result commit holding the metric series (every point, with
its step and time) and any log. Runs already imported (same ``imported_from``) are skipped, so
importing again adds only what is new. Nothing of the user's state is touched: no index, HEAD,
branch or file is written. Every string goes through the secret detector when the note is written
(``RunStore.create``) and every result file through ``redact_result_files``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gitrun.commands.context import Context
from gitrun.model import status as statuses
from gitrun.model.ids import is_valid_name, looks_like_id_prefix, new_run_id, new_run_name
from gitrun.model.redaction import redact_result_files
from gitrun.model.run import SCHEMA_VERSION, Run
from gitrun.model.secrets import strip_url_credentials
from gitrun.model.series import SeriesPoint, last_values, series_path, series_tsv, summarise, valid_name
from gitrun.model.timefmt import to_iso, utc_now
from gitrun.store.commits import commit_info, empty_tree, head_info
from gitrun.store.git import Repository
from gitrun.store.index import LITE
from gitrun.store.runs import RunStore
from gitrun.store.trees import TreeContent

LOG_PATH = "logs/output.log"
OUTPUTS_PREFIX = "outputs/"
OUTPUT_STORE_LIMIT = 1024 * 1024  # as a recorded run's default output_store_limit


@dataclass
class ForeignFile:
    """A file another tracker kept with a run (W&B's ``files/``), stored as one of the run's outputs."""

    path: str  # relative, as the tool kept it
    size: int
    hash: str
    data: bytes | None = None  # None: larger than the store limit, recorded by size and hash only
    mtime: str | None = None
    location: str | None = None  # where a file not read stays (MLflow's artifact store)


@dataclass
class ForeignRun:
    """One run of another tracker, as its reader found it."""

    tool: str  # "mlflow", "dvc", "wandb"
    foreign_id: str  # the run's id in that tool: imported_from = "<tool>:<foreign_id>"
    source: str  # where it was read from (a path or URI; credentials are stripped when stored)
    name: str = ""
    status: str = statuses.SUCCEEDED
    started: datetime | None = None
    ended: datetime | None = None
    message: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    series: dict[str, list[SeriesPoint]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)  # gitrun tags (single words)
    labels: dict[str, str] = field(default_factory=dict)  # the tool's key/value tags
    user: str | None = None
    host: str | None = None
    command: list[str] = field(default_factory=list)
    commit: str | None = None  # the commit whose tree is the run's code, as the tool recorded it
    base_commit: str | None = None  # the snapshot's parent when not ``commit`` itself (a DVC experiment's baseline)
    branch: str | None = None
    remote_url: str | None = None
    details: dict[str, Any] = field(default_factory=dict)  # more of the tool's facts, kept under [imported]
    log: bytes | None = None  # the console output, when the tool kept it
    files: list[ForeignFile] = field(default_factory=list)  # files the tool kept with the run: outputs
    packages: list[dict[str, str]] = field(default_factory=list)  # env.packages, when the tool listed them


@dataclass
class ImportResult:
    imported: list[tuple[ForeignRun, Run]] = field(default_factory=list)
    skipped: list[tuple[ForeignRun, Run]] = field(default_factory=list)  # imported before


def origin(foreign: ForeignRun) -> str:
    return f"{foreign.tool}:{foreign.foreign_id}"


def imported_runs(store: RunStore) -> dict[str, Run]:
    """Runs imported before, by their ``imported_from``."""
    found: dict[str, Run] = {}
    for run in store.list_runs(LITE):
        mark = run.doc.get("imported_from")
        if isinstance(mark, str):
            found.setdefault(mark, run)
    return found


def store_foreign_runs(ctx: Context, runs: Iterable[ForeignRun]) -> ImportResult:
    result = ImportResult()
    known = imported_runs(ctx.store)
    for foreign in runs:
        mark = origin(foreign)
        if mark in known:
            result.skipped.append((foreign, known[mark]))
            continue
        run = store_foreign_run(ctx, foreign)
        known[mark] = run
        result.imported.append((foreign, run))
    return result


def store_foreign_run(ctx: Context, foreign: ForeignRun) -> Run:
    store = ctx.store
    tree, parent, unknown_code = _code(ctx.repo, foreign)
    started = foreign.started or foreign.ended or utc_now()
    run_id = new_run_id(int(started.timestamp() * 1000))
    doc = _document(store, foreign, run_id, started, parent, unknown_code)
    files = _result_files(foreign, doc)  # before the note is written: secret outputs lose their hash
    message = foreign.message or f"imported from {foreign.tool}: {foreign.name or foreign.foreign_id}"
    run = store.create(run_id, tree, parent, message, doc)
    run = store.save_result(run, files)

    def finish(current: dict[str, Any]) -> dict[str, Any]:
        current["result_commit"] = run.result_commit
        return current

    return store.update_doc(run, finish, f"gitrun: import {run_id}")


def _document(store: RunStore, foreign: ForeignRun, run_id: str, started: datetime, parent: str | None,
              unknown_code: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "id": run_id,
        "name": _name(store, foreign.name),
        "message": foreign.message,
        "tags": sorted({tag for tag in foreign.tags if tag.strip() and not any(c.isspace() for c in tag)}),
        "status": foreign.status,
        "command": list(foreign.command),
        "cwd": ".",
        "started": to_iso(started),
        "imported_from": origin(foreign),
    }
    if foreign.ended is not None:
        doc["ended"] = to_iso(foreign.ended)
        doc["duration_s"] = round(max(0.0, (foreign.ended - started).total_seconds()), 3)
    missing: dict[str, str] = {}
    for key, value in (("user", foreign.user), ("host", foreign.host)):
        if value:
            doc[key] = value
        else:
            missing[key] = f"not recorded by {foreign.tool}"
    if not foreign.command:
        missing["command"] = f"not recorded by {foreign.tool}"
    git: dict[str, Any] = {"base_commit": str(parent) if parent is not None else "", "unborn": parent is None,
                           "branch": foreign.branch or ""}  # "" and not detached: shown as "(none)"
    if foreign.remote_url:
        git["remote_url"] = strip_url_credentials(foreign.remote_url)
    doc["git"] = git
    if unknown_code:
        missing["code"] = unknown_code
    imported: dict[str, Any] = {"tool": foreign.tool, "id": foreign.foreign_id,
                                "source": strip_url_credentials(foreign.source), "at": to_iso(utc_now())}
    if foreign.name and foreign.name != doc["name"]:
        imported["name"] = foreign.name
    if foreign.commit:
        imported["commit"] = foreign.commit
    if foreign.labels:
        imported["tags"] = dict(sorted(foreign.labels.items()))
    imported.update(foreign.details)
    doc["imported"] = imported
    params = {key: value for key, value in foreign.params.items() if _storable(value)}
    if params:
        doc["params"] = params
        doc["params_source"] = {key: foreign.tool for key in params}
    series = stored_series(foreign.series)
    if series:
        doc["metrics"] = last_values(series)
        doc["summary"] = {name: summarise(points) for name, points in series.items()}
    if foreign.log is not None:
        doc["log"] = {"path": LOG_PATH, "bytes": len(foreign.log), "stored_bytes": len(foreign.log),
                      "truncated": False}
    if foreign.files:
        doc["outputs"] = [_output_entry(item) for item in sorted(foreign.files, key=lambda item: item.path)]
    if foreign.packages:
        doc["env"] = {"packages": foreign.packages}
    if missing:
        doc["missing"] = missing
    return doc


def _storable(value: Any) -> bool:
    """TOML has no null; a NaN parameter is kept as text by the readers."""
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def stored_series(series: Mapping[str, list[SeriesPoint]]) -> dict[str, list[SeriesPoint]]:
    """Series under names gitrun can store (empty ``/`` segments dropped), without empty ones."""
    kept: dict[str, list[SeriesPoint]] = {}
    for name, points in series.items():
        clean = name if valid_name(name) else "/".join(part for part in name.split("/") if part)[:200]
        if points and valid_name(clean):
            kept.setdefault(clean, []).extend(points)
    return kept


def _output_entry(item: ForeignFile) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": item.path, "size": item.size, "stored": item.data is not None}
    if item.hash:  # "" when the tool's copy was not read (left in its artifact store)
        entry["hash"] = item.hash
    if item.mtime:
        entry["mtime"] = item.mtime
    if item.data is None:
        entry["not_stored"] = f"larger than the {OUTPUT_STORE_LIMIT}-byte store limit" + (
            "" if item.hash else f"; left in {item.location or 'the tool'}")
    return entry


def _result_files(foreign: ForeignRun, doc: dict[str, Any]) -> dict[str, TreeContent]:
    files: dict[str, Any] = {series_path(name): series_tsv(points)
                             for name, points in stored_series(foreign.series).items()}
    if foreign.log is not None:
        files[LOG_PATH] = foreign.log
    for item in foreign.files:
        if item.data is not None:
            files[OUTPUTS_PREFIX + item.path] = item.data
    dropped = redact_result_files(files)  # the one secret screen of result files, as for a recorded run
    for entry in doc.get("outputs", []):
        reason = dropped.get(OUTPUTS_PREFIX + entry["path"])
        if reason:  # a secret file: not stored, and no hash kept
            entry.update(stored=False, not_stored=f"secret: {reason}")
            entry.pop("hash", None)
    return files


_NAME_JUNK = re.compile(r"[^A-Za-z0-9._-]+")


def _name(store: RunStore, wanted: str) -> str:
    """The tool's run name when gitrun accepts it and it is free here, else a generated one
    (the original is kept as ``imported.name``)."""
    candidate = _NAME_JUNK.sub("-", wanted).strip("-.")[:64]
    if candidate and is_valid_name(candidate) and not looks_like_id_prefix(candidate) \
            and not store.name_taken(candidate):
        return candidate
    return new_run_name()


def _code(repo: Repository, foreign: ForeignRun) -> tuple[str, str | None, str | None]:
    """(snapshot tree, snapshot parent, why the code is not known or None), as hex ids."""
    recorded = commit_info(repo, foreign.commit)
    if recorded is not None:
        base = commit_info(repo, foreign.base_commit) if foreign.base_commit else recorded
        return recorded.tree, (base or recorded).id, None
    why = (f"{foreign.tool} recorded commit {foreign.commit}, which is not in this repository"
           if foreign.commit else f"{foreign.tool} recorded no git commit")
    reason = f"the code of this imported run is not known ({why}); its snapshot is HEAD's tree at import time"
    head = head_info(repo)
    if head is None:
        return empty_tree(repo), None, reason
    return head.tree, head.id, reason


def number_or_text(text: str) -> Any:
    """A parameter the tool kept as text: a number when the text is that number's own spelling
    (``"32"``, ``"0.01"``), so that ``--where params.lr < 0.1`` works and exporting gives the same text."""
    if re.fullmatch(r"-?[0-9]+", text) and str(int(text)) == text:
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) and repr(value) == text else text


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as flat dotted keys (``model.layers``), nulls and non-finite numbers left out."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        elif value is not None and not (isinstance(value, float) and not math.isfinite(value)):
            flat[name] = value
    return flat
