"""Turn a run's spool into its stored result: result commit, final metadata, spool removed.

Used when a run ends normally and, for runs whose gitrun process died (``kill -9``, power loss),
by the next gitrun command, which finalises them as ``crashed`` with everything spooled so far.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from gitrun.errors import GitrunError, RunNotFound
from gitrun.model import status as statuses
from gitrun.model.captured import deep_update
from gitrun.model.redaction import redact_result_files
from gitrun.model.run import Run
from gitrun.model.timefmt import from_iso, to_iso, utc_now
from gitrun.runner.ending import DocFinaliser, Ending, ResultContributor
from gitrun.runner.logs import capped_log
from gitrun.store import codec
from gitrun.store.config import Settings
from gitrun.store.runs import RunStore
from gitrun.store.spool import ENDING_FILE, OUTPUT_LOG, Spool, all_spools, claimer_is_alive, owner_is_alive
from gitrun.store.trees import TreeContent, build_tree

LOG_PATH = "logs/output.log"

# What recover_orphans calls to get the features, only once it finds an orphan.
FeatureLoader = Callable[[], tuple[Sequence[ResultContributor], Sequence[DocFinaliser]]]

def collect_result(spool: Spool, ending: Ending, settings: Settings, contributors: Sequence[ResultContributor],
                   ) -> tuple[dict[str, TreeContent], dict[str, Any], list[str]]:
    """The result tree's files, the note's updates, and the contributors that failed."""
    log_bytes, log_info = capped_log(spool.file(OUTPUT_LOG), settings.log_cap_bytes)
    files: dict[str, TreeContent] = {LOG_PATH: log_bytes}
    updates: dict[str, Any] = {"log": {**log_info, "path": LOG_PATH}}
    failed: list[str] = []
    for contributor in contributors:
        name = getattr(contributor, "__name__", "result")
        try:
            more_files, more_updates = contributor(spool, ending)
        except Exception as err:  # one failing contributor must not lose the run (MemoryError included)
            updates.setdefault("missing", {})[name] = failure_reason(err)
            failed.append(name)
            continue
        files.update(more_files)
        deep_update(updates, more_updates)
    _keep_secrets_out(files, updates)
    return files, updates, failed


def failure_reason(err: BaseException) -> str:
    """Never empty: ``MemoryError()`` says nothing by itself."""
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _keep_secrets_out(files: dict[str, TreeContent], updates: dict[str, Any]) -> None:
    """The one secret screen of the result tree: secrets in logs redacted, secret outputs left out
    (their entry says why and keeps no hash)."""
    dropped = redact_result_files(files)
    if not dropped:
        return
    for entry in updates.get("outputs", []) or []:
        path = str(entry.get("path", "")) if isinstance(entry, dict) else ""
        reason = dropped.get("outputs/" + path) or dropped.get("outputs/_external/" + path.lstrip("/"))
        if reason:
            entry.update(stored=False, not_stored=f"secret: {reason}")
            entry.pop("hash", None)


def _save_result(store: RunStore, run: Run, files: dict[str, TreeContent], updates: dict[str, Any]) -> None:
    """Store the result tree; files that cannot be stored are left out and named under ``missing``."""
    try:
        store.save_result(run, files)
        return
    except GitrunError:
        raise  # the run's ref was deleted meanwhile, or another process is finalising it
    except Exception as err:  # an unstorable file must not lose the run
        failure = f"{type(err).__name__}: {err}"
    kept: dict[str, TreeContent] = {}
    for path, content in files.items():
        try:
            build_tree(store.repo, {path: content})
        except Exception as err:
            updates.setdefault("missing", {})[f"result.{path}"] = f"could not be stored ({type(err).__name__}: {err})"
            continue
        kept[path] = content
    try:
        store.save_result(run, kept)
    except GitrunError:
        raise
    except Exception:  # at least the metadata gets its final status
        updates.setdefault("missing", {})["result"] = f"the result tree could not be stored ({failure})"


def finalise(store: RunStore, run: Run, spool: Spool, ending: Ending, settings: Settings, *,
             contributors: Sequence[ResultContributor], finalisers: Sequence[DocFinaliser]) -> Run:
    """Store the spool as the run's result and final metadata, then remove the spool.

    When storing fails for a reason that is not the run's (a full disk, a read-only object store),
    the spool is kept with the ending written into it, and the next gitrun command that finds it
    stores the run with its real status and exit code (``recover_orphans``); the caller gets the
    run back unchanged, so ``git run`` still exits with the child's code.
    """
    try:
        _store_and_release(store, run, spool, ending, settings, contributors, finalisers)
    except Exception as err:  # e.g. ENOSPC: the run's data stays in the spool (a deleted run's is dropped later)
        kept = _save_ending(spool, ending)
        print(f"gitrun: warning: run {run.id} could not be stored now ({_reason(err)}); "
              + (f"it is kept in {spool.path} and stored by the next gitrun command"
                 if kept else f"its spool {spool.path} is kept; the next gitrun command stores it as crashed"),
              file=sys.stderr)
    return run


def _reason(err: Exception) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return f"{type(err).__name__}: {err}"


def _save_ending(spool: Spool, ending: Ending) -> bool:
    """Write how the run ended into its spool (a few hundred bytes; may fail on a full disk too)."""
    info: dict[str, Any] = {"status": ending.status, "exit_code": ending.exit_code, "signal": ending.signal,
                            "ended": to_iso(ending.ended), "error": ending.error, "extra": ending.extra}
    try:
        data = codec.encode(info)
        path = spool.file(ENDING_FILE)
        with contextlib.suppress(OSError):
            if len(data) <= path.stat().st_size:
                with open(path, "r+b") as handle:  # in place, in the space reserved at the start
                    handle.write(data + b"\n" * (path.stat().st_size - len(data)))
                return True
        tmp = spool.file(ENDING_FILE + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return True
    except (OSError, ValueError, TypeError):
        return False


def saved_ending(spool: Spool) -> Ending | None:
    """The ending a recorder wrote when it could not store its run, if any."""
    try:
        info = codec.decode(spool.file(ENDING_FILE).read_bytes(), "a saved ending")
        return Ending(status=str(info["status"]), exit_code=info.get("exit_code"), signal=info.get("signal"),
                      ended=from_iso(str(info["ended"])), error=info.get("error"),
                      extra=dict(info.get("extra") or {}))
    except (OSError, GitrunError, KeyError, ValueError, TypeError):
        return None


def _store_and_release(store: RunStore, run: Run, spool: Spool, ending: Ending, settings: Settings,
                       contributors: Sequence[ResultContributor], finalisers: Sequence[DocFinaliser]) -> None:
    """Store the result and final note; then remove the spool, or keep it when something was left out."""
    files, updates, failed = collect_result(spool, ending, settings, contributors)
    _save_result(store, run, files, updates)
    left_out = [key for key in updates.get("missing", {}) if key == "result" or key.startswith("result.")]
    kept = None
    if failed or left_out:  # the spool holds what the run lacks: never delete it
        kept = spool.kept_path()
        updates["missing"]["spool"] = f"not everything could be stored; the spool is kept at {kept}"

    def apply(doc: dict[str, Any]) -> dict[str, Any]:
        doc["status"] = ending.status
        if ending.exit_code is not None:
            doc["exit_code"] = ending.exit_code
        if ending.signal:
            doc["signal"] = ending.signal
        if ending.error:
            doc["error"] = ending.error
        doc["ended"] = to_iso(ending.ended)
        started = doc.get("started")
        if isinstance(started, str):
            doc["duration_s"] = round((ending.ended - from_iso(started)).total_seconds(), 3)
        doc["result_commit"] = run.result_commit
        doc.pop("pid", None)
        deep_update(doc, ending.extra)
        deep_update(doc, updates)
        for finaliser in finalisers:
            with contextlib.suppress(Exception):  # a failing finaliser must not lose the run
                finaliser(doc)
        return doc

    store.update_doc(run, apply, f"gitrun: {ending.status} {run.id}")
    if kept is None:
        spool.remove()
    else:
        spool.keep(kept)
        print(f"gitrun: warning: run {run.id} was not stored completely ({', '.join(failed + left_out)}); "
              f"its spool is kept at {kept}", file=sys.stderr)


def recover_orphans(store: RunStore, settings: Settings, load_features: FeatureLoader) -> list[Run]:
    """Finalise as ``crashed`` every spooled run of this host whose gitrun process is gone.

    ``load_features`` returns the result contributors and doc finalisers (``gitrun.runner.features``);
    it is called only when an orphan is found, so other commands skip importing every feature.
    """
    recovered: list[Run] = []
    for found in all_spools(store.paths):
        if found.claimed_by is not None and claimer_is_alive(found):
            continue
        if found.claimed_by is None and owner_is_alive(found.read_live()):
            continue
        spool = found.claim()
        if spool is None:
            continue  # another command is finalising it
        try:
            run = store.get(spool.run_id)
        except RunNotFound:
            spool.remove()  # gitrun died before the run was created: nothing was recorded yet
            continue
        except GitrunError as err:  # e.g. its ref points at a missing commit: kept until `git run doctor`
            _report_unrecoverable(spool, err)
            spool.release()
            continue
        if run.status != statuses.RUNNING:
            spool.remove()
            continue
        contributors, doc_finalisers = load_features()
        ending = saved_ending(spool) or Ending(  # saved: its recorder could not store it (full disk)
            status=statuses.CRASHED, exit_code=None, ended=last_sign_of_life(spool, run),
            error="gitrun stopped before the run ended (killed or machine restarted)")
        try:
            _store_and_release(store, run, spool, ending, settings, contributors, doc_finalisers)
        except GitrunError:
            spool.release()
            continue  # another process may be finalising it right now
        except Exception as err:  # one bad spool must not break every command
            _report_unrecoverable(spool, err)
            spool.release()
            continue
        recovered.append(run)
    return recovered


def last_sign_of_life(spool: Spool, run: Run) -> datetime:
    """When a crashed run was last seen alive: the newest write to its spool (output, points,
    samples every few seconds), never before it started nor after now."""
    newest = 0.0
    with contextlib.suppress(OSError):
        for entry in os.scandir(spool.path):
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False):  # files the run writes; not what finalising makes
                    newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
    now = utc_now()
    if newest <= 0:
        return now
    seen = datetime.fromtimestamp(newest, UTC)
    started = run.doc.get("started")
    with contextlib.suppress(Exception):
        if isinstance(started, str):
            seen = max(seen, from_iso(started))
    return min(seen, now)


def _report_unrecoverable(spool: Spool, err: Exception) -> None:
    """Say once per command why a crashed run could not be stored; its spool is kept for a later try."""
    print(f"gitrun: warning: run {spool.run_id} could not be stored yet ({_reason(err)}); "
          f"its spool is kept at {spool.path} for the next command", file=sys.stderr)
