"""Reproducibility checks on a run's metadata: can someone else rerun what is about to be shared?

Pure functions of the metadata document (the secrets scan, which reads git objects, lives in
``gitrun.commands.check``). Each returns findings; a finding names the run, the check, what is
wrong and how to fix it. Severity comes from ``[tool.gitrun.check]`` (``error``, ``warn``, ``off``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from gitrun.model.reproduce import is_reproduced, last_verdict
from gitrun.model.secrets import is_secret_env_name

CODE = "code"
DATA = "data"
ENVIRONMENT = "environment"
ENV_VARS = "env_vars"
SECRETS = "secrets"
OUTCOME = "outcome"
REPRODUCED = "reproduced"  # off unless [tool.gitrun.check] require_reproduced = true
CHECKS = (CODE, DATA, ENVIRONMENT, ENV_VARS, SECRETS, OUTCOME, REPRODUCED)

ERROR = "error"
WARN = "warn"
OFF = "off"
SEVERITIES = (ERROR, WARN, OFF)

# The reason a snapshot leaves out a file an earlier run wrote (gitrun.capture.earlier_outputs):
# an output, not code, so nothing the code check asks about.
EARLIER_OUTPUT = "output of an earlier run"

# Data locations others can reach (set by the data capture in each ``data`` entry).
SHARED_DATA_LOCATIONS = frozenset({"snapshot", "shared", "lfs", "dvc"})


@dataclass(frozen=True)
class Finding:
    run_id: str
    check: str
    severity: str  # error | warn
    problem: str
    fix: str


def accepted_checks(doc: dict[str, Any]) -> set[str]:
    """The checks accepted for this run (``[[accepted]]`` entries; ``check = "all"`` covers every one)."""
    accepted: set[str] = set()
    for entry in doc.get("accepted", []) or []:
        if isinstance(entry, dict):
            check = str(entry.get("check", "all"))
            accepted.update(CHECKS if check == "all" else (check,))
    return accepted


def _accept_hint(run: str, check: str) -> str:
    return f"or, if it is fine: git run check --accept \"REASON\" {run} --only {check}"


def check_code(run: str, doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Files left out of the snapshot (size, secrecy, unreadable) that nobody accounted for."""
    problems: list[tuple[str, str]] = []
    snapshot = doc.get("snapshot", {})
    excluded = snapshot.get("excluded", []) if isinstance(snapshot, dict) else []
    for item in excluded or []:
        if not isinstance(item, dict):
            continue
        reason = str(item.get("reason", ""))
        path = str(item.get("path", "?"))
        if ".gitrunignore" in reason or item.get("accepted") or reason.startswith(EARLIER_OUTPUT):
            continue  # the user chose to leave it out, or gitrun's own earlier output
        problems.append((
            f"{path} was left out of the snapshot ({reason})",
            f"if the run needs it, commit it (Git LFS for large files) and re-record; if not, add it to "
            f".gitrunignore; {_accept_hint(run, CODE)}",
        ))
    missing = doc.get("missing")
    unknown = missing.get("code") if isinstance(missing, dict) else None
    if isinstance(unknown, str):  # a run imported from another tracker that recorded no usable commit
        problems.append((unknown, f"record the run again with `git run` to keep its code; {_accept_hint(run, CODE)}"))
    git = doc.get("git", {})
    for sub in (git.get("submodules", []) if isinstance(git, dict) else []) or []:
        if isinstance(sub, dict) and sub.get("dirty"):
            problems.append((
                f"submodule {sub.get('path')} had uncommitted changes, which the snapshot does not hold",
                f"commit (and push) the submodule's changes, then re-record; {_accept_hint(run, CODE)}",
            ))
    return problems


def _data_entries(data: Any) -> list[tuple[str, dict[str, Any]]]:
    """(name, entry) of every data input, whatever the section's shape (table of tables or list)."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(data, list):
        for index, entry in enumerate(data):
            if isinstance(entry, dict):
                found.append((str(entry.get("name") or entry.get("path") or index), entry))
    elif isinstance(data, dict):
        if "location" in data:
            return [(str(data.get("name") or data.get("path") or "data"), data)]
        for key, value in data.items():
            if isinstance(value, dict) and "location" in value:
                found.append((str(value.get("name") or key), value))
            elif isinstance(value, list | dict):
                found.extend(_data_entries(value))
    return found


def check_data(run: str, doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Every data input must be in the snapshot, in Git LFS or DVC, under a shared location, or marked."""
    problems: list[tuple[str, str]] = []
    for name, entry in _data_entries(doc.get("data")):
        if entry.get("role") == "output":
            continue
        location = str(entry.get("location", ""))
        if location in SHARED_DATA_LOCATIONS or entry.get("accepted") or entry.get("marked"):
            continue
        path = entry.get("path") or name
        where = {"ignored": "ignored by git", "outside": "outside the repository"}.get(location, location or "unknown")
        problems.append((
            f"data input {path} is {where}: others cannot get it",
            "put it in the repository (Git LFS for large files) or DVC, or under a shared folder listed in "
            f"[tool.gitrun] data_remotes, then re-record; {_accept_hint(run, DATA)}",
        ))
    return problems


def _inside(location: str, root: str) -> bool:
    if not location or not root:
        return False
    try:
        PurePosixPath(location).relative_to(PurePosixPath(root))
        return True
    except ValueError:
        return False


def normalise_distribution(name: str) -> str:
    """A distribution name as PEP 503 compares them: ``Foo_Bar.baz`` is ``foo-bar-baz``."""
    return "-".join(name.lower().replace("_", "-").replace(".", "-").split("-")) if name else name


def imported_distributions(doc: dict[str, Any]) -> set[str] | None:
    """Normalised names of the distributions the run imported, or None when that was not traced."""
    env = doc.get("env", {})
    imported = env.get("imported") if isinstance(env, dict) else None
    if not isinstance(imported, list):
        return None
    return {normalise_distribution(str(name)) for name in imported}


def check_environment(run: str, doc: dict[str, Any], repo_root: str = "",
                      never_count: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """Packages the run imported that were installed from a local path or in editable mode outside
    the repo, or that have no version.

    Only packages in ``env.imported`` count (what is merely installed cannot make a rerun fail);
    a run recorded without that trace (``--no-autolog``, older gitrun) is checked against every
    installed package except those in ``never_count`` (gitrun itself and its dependencies).
    """
    problems: list[tuple[str, str]] = []
    env = doc.get("env", {})
    packages = env.get("packages", []) if isinstance(env, dict) else []
    imported = imported_distributions(doc)
    for package in packages or []:
        if not isinstance(package, dict):
            continue
        name = str(package.get("name", "?"))
        key = normalise_distribution(name)
        if (key not in imported) if imported is not None else (key in never_count):
            continue
        installer = str(package.get("installer", ""))
        location = str(package.get("location", ""))
        if installer in ("editable", "local") and not _inside(location, repo_root):
            how = "in editable mode" if installer == "editable" else "from a local path"
            subject = f"the run imported {name}, installed" if imported is not None else f"package {name} was installed"
            problems.append((
                f"{subject} {how} ({location or 'unknown path'}), outside the repository",
                f"publish {name} (package index, or a git URL: pip install git+https://...) and reinstall it "
                f"from there, or vendor it into the repository; {_accept_hint(run, ENVIRONMENT)}",
            ))
        if not str(package.get("version", "")).strip():
            problems.append((
                f"package {name} has no version",
                f"install a released version of {name} (or give the package a version); "
                f"{_accept_hint(run, ENVIRONMENT)}",
            ))
    return problems


def required_env_vars(doc: dict[str, Any]) -> list[str]:
    """Variables the run read while they were set, whose values are not recorded (redacted).

    A variable read while unset (a library probing ``HF_TOKEN``) is no requirement: the run worked
    without it. It stays in ``env.read_unset`` for information.
    """
    env = doc.get("env", {})
    if not isinstance(env, dict):
        return []
    reads = {str(item) for item in env.get("read", []) or []}
    unset = {str(item) for item in env.get("read_unset", []) or []}
    redacted = {str(name) for name in env.get("redacted", []) or []}
    recorded = env.get("vars")
    names: list[str] = []
    for name in sorted(reads - unset):
        if name in redacted or (not isinstance(recorded, dict) and is_secret_env_name(name)):
            names.append(name)  # without env.vars (capture failed), a secret-looking name counts
    return names


def redacted_arguments(doc: dict[str, Any]) -> list[str]:
    """Arguments and parameters whose secret values were stored redacted (``--api-key``, ``db.password``)."""
    entries = doc.get("redacted")
    items = [(str(e.get("field")), str(e.get("name"))) for e in entries if isinstance(e, dict) and e.get("name")] \
        if isinstance(entries, list) else []
    arguments = {name for field, name in items if field == "command"}
    spelled = {name.lstrip("-+").replace("-", "_") for name in arguments}
    # A parameter parsed from a redacted argument (--api-key -> api_key) is the same secret.
    params = {name for field, name in items if field == "params" and name.replace("-", "_") not in spelled}
    return sorted(arguments | params)


def required_secrets(doc: dict[str, Any]) -> list[str]:
    """Everything whoever reruns the run must supply: secret variables it read, redacted arguments."""
    return [*required_env_vars(doc), *redacted_arguments(doc)]


def check_env_vars(run: str, doc: dict[str, Any]) -> list[tuple[str, str]]:
    env = doc.get("env", {})
    declared = {str(n) for n in (env.get("required_secrets", []) if isinstance(env, dict) else []) or []}
    fix = (f"git run check --accept \"needs {{names}}\" {run} --only {ENV_VARS} "
           "(they are then listed in the run's env.required_secrets)")
    problems: list[tuple[str, str]] = []
    missing = [name for name in required_env_vars(doc) if name not in declared]
    if missing:
        problems.append((
            f"the run read {', '.join(missing)}, whose value is not recorded (a secret): "
            "whoever reruns it must set them",
            "declare them as required secrets: " + fix.format(names=" ".join(missing)),
        ))
    arguments = [name for name in redacted_arguments(doc) if name not in declared]
    if arguments:
        problems.append((
            f"the run's command line or parameters held secrets, stored redacted: {', '.join(arguments)}: "
            "whoever reruns it must supply them",
            "pass them from an environment variable instead, or declare them: "
            + fix.format(names=" ".join(arguments)),
        ))
    return problems


def check_reproduced(run: str, doc: dict[str, Any]) -> list[tuple[str, str]]:
    """``require_reproduced``: some ``git run reproduce`` of the run came back exact or within tolerance."""
    if is_reproduced(doc):
        return []
    last_record = last_verdict(doc)
    last = f" (its last reproduction: {last_record.get('verdict')})" if last_record else ""
    return [(f"the run was never reproduced exact or within tolerance{last}",
             f"git run reproduce {run} (with --tolerance METRIC=TOL if its numbers may vary); "
             f"{_accept_hint(run, REPRODUCED)}")]


def check_outcome(run: str, doc: dict[str, Any]) -> list[tuple[str, str]]:
    status = str(doc.get("status", "unknown"))
    if status == "running":
        return [(
            "the run is still running: its outcome, logs and metrics are not final",
            f"wait for it to end (git run list), then push; {_accept_hint(run, OUTCOME)}",
        )]
    if status == "broken":  # its note could not be read or trusted (gitrun.model.schema)
        problems = doc.get("_problems")
        reason = str(problems[0]) if isinstance(problems, list) and problems else "its note is damaged"
        return [(f"the run is broken: {reason}", f"remove it (git run rm {run})")]
    if status in ("crashed", "unknown"):
        return [(
            f"the run's outcome is unknown (status {status}): gitrun stopped before the run ended",
            f"re-record the run, or remove it (git run rm {run}); {_accept_hint(run, OUTCOME)}",
        )]
    return []


def severity_for(config: dict[str, Any], check: str) -> str:
    if check == REPRODUCED and check not in config:
        return ERROR if config.get("require_reproduced") is True else OFF
    value = str(config.get(check, ERROR)).lower()
    return value if value in SEVERITIES else ERROR


def sharing_summary(doc: dict[str, Any]) -> dict[str, str]:
    """Lines for ``git run show``: accepted checks, secrets a rerun needs, merge conflicts kept."""
    values: dict[str, str] = {}
    for entry in doc.get("accepted", []) or []:
        if isinstance(entry, dict):
            values[f"accepted {entry.get('check', 'all')}"] = f"{entry.get('reason', '')} ({entry.get('by', '?')})"
    env = doc.get("env", {})
    required = env.get("required_secrets") if isinstance(env, dict) else None
    if required:
        values["needs secrets"] = ", ".join(str(name) for name in required)
    conflicts = doc.get("conflicts")
    if isinstance(conflicts, list) and conflicts:
        keys = ", ".join(str(c.get("key")) for c in conflicts if isinstance(c, dict))
        values["merge conflicts"] = f"{len(conflicts)} kept in [conflicts]: {keys}"
    return values
