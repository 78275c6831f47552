"""A job: what it takes to run a command again at a recorded snapshot, as plain data.

``JobSpec`` is what ``git run rerun`` and ``reproduce`` build from a run, what a sweep expands to
and what the queue stores (as TOML, in refs that come from a remote). ``from_dict`` therefore
treats its input as untrusted: every field is checked for type, size and shape, and anything wrong
raises ``UsageError`` with one line naming the field. ``gitrun.runner.replay.run_job`` runs one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gitrun.errors import UsageError
from gitrun.model.run import Run

EnvMode = Literal["current", "venv"]
ENV_MODES: tuple[str, ...] = ("current", "venv")
# The links a run can carry to other objects; each is a top-level field of the new run's note.
LINK_KEYS: tuple[str, ...] = ("parent", "reproduces", "sweep", "job")

_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")  # SHA-1 or SHA-256 object id, full length
_LINK_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*$")
_TAG = re.compile(r"^\S{1,100}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_ARGS = 1000
MAX_ARG_CHARS = 10_000
MAX_OVERRIDES = 200
MAX_TEXT = 4000
MAX_LIST_ITEMS = 1000

Scalar = str | int | float | bool
Value = Scalar | list[Scalar]


@dataclass(frozen=True)
class JobSpec:
    """One command to run at one snapshot, with parameters overridden and links to record."""

    snapshot: str  # the snapshot commit (full hex id): the code the job runs
    command: tuple[str, ...]  # argv, as recorded (before overrides are applied)
    overrides: tuple[tuple[str, Value], ...] = ()  # (dotted key, value), applied in order
    env: EnvMode = "current"  # "current": this interpreter's environment; "venv": rebuilt from `packages_of`
    links: tuple[tuple[str, str], ...] = ()  # (one of LINK_KEYS, id): stored in the new run's note
    name: str | None = None
    tags: tuple[str, ...] = ()
    message: str = ""
    cwd: str = "."  # where the command runs, relative to the snapshot's root
    params_files: tuple[str, ...] = ()  # --params files (relative to the root): recorded, rewritten by overrides
    packages_of: str | None = None  # env = "venv": the run whose recorded packages the venv is built from

    def __post_init__(self) -> None:
        validate(self)

    @property
    def link_map(self) -> dict[str, str]:
        return dict(self.links)

    def to_dict(self) -> dict[str, Any]:
        """A TOML-safe table (no None): what the queue stores."""
        out: dict[str, Any] = {
            "snapshot": self.snapshot,
            "command": list(self.command),
            "overrides": [{"key": key, "value": value} for key, value in self.overrides],
            "env": self.env,
            "links": dict(self.links),
            "tags": list(self.tags),
            "message": self.message,
            "cwd": self.cwd,
            "params_files": list(self.params_files),
        }
        if self.name is not None:
            out["name"] = self.name
        if self.packages_of is not None:
            out["packages_of"] = self.packages_of
        return out

    @classmethod
    def from_dict(cls, data: Any) -> JobSpec:
        """A spec from ``to_dict``'s table, read from anywhere (a remote's ref): checked field by field."""
        if not isinstance(data, Mapping):
            raise _bad("the job spec is not a table")
        unknown = sorted(set(data) - _FIELDS)
        if unknown:
            raise _bad(f"unknown field '{_short(unknown[0])}'")
        overrides = _list(data, "overrides", Mapping)
        links = data.get("links", {})
        if not isinstance(links, Mapping):
            raise _bad("links should be a table")
        return cls(
            snapshot=_text(data, "snapshot", required=True),
            command=tuple(_list(data, "command", str)),
            overrides=tuple((_override_key(item), _override_value(item)) for item in overrides),
            env=_text(data, "env") or "current",  # type: ignore[arg-type]  # checked by validate
            links=tuple((str(key), _link_value(key, value)) for key, value in links.items()),
            name=_text(data, "name") or None,
            tags=tuple(_list(data, "tags", str)),
            message=_text(data, "message"),
            cwd=_text(data, "cwd") or ".",
            params_files=tuple(_list(data, "params_files", str)),
            packages_of=_text(data, "packages_of") or None,
        )


_FIELDS = frozenset({"snapshot", "command", "overrides", "env", "links", "name", "tags", "message", "cwd",
                     "params_files", "packages_of"})


def validate(spec: JobSpec) -> None:
    """Raise UsageError (one line) when ``spec`` could not be run as it is."""
    if not isinstance(spec.snapshot, str) or not _COMMIT.match(spec.snapshot):
        raise _bad(f"snapshot '{_short(spec.snapshot)}' is not a full commit id")
    if not spec.command:
        raise _bad("the command is empty")
    if len(spec.command) > MAX_ARGS or any(not isinstance(a, str) or len(a) > MAX_ARG_CHARS or "\0" in a
                                           for a in spec.command):
        raise _bad(f"the command should be at most {MAX_ARGS} arguments of text without NUL bytes")
    if spec.env not in ENV_MODES:
        raise _bad(f"env '{_short(spec.env)}' should be one of {', '.join(ENV_MODES)}")
    if len(spec.overrides) > MAX_OVERRIDES:
        raise _bad(f"more than {MAX_OVERRIDES} overrides")
    for key, value in spec.overrides:
        check_override(key, value)
    for key, value in spec.links:
        if key not in LINK_KEYS:
            raise _bad(f"unknown link '{_short(key)}' (known: {', '.join(LINK_KEYS)})")
        _link_value(key, value)
    if len({key for key, _ in spec.links}) != len(spec.links):
        raise _bad("a link is given twice")
    if spec.name is not None and not (isinstance(spec.name, str) and _NAME.match(spec.name)):
        raise _bad(f"name '{_short(spec.name)}' should be letters, digits, '.', '_', '-' (at most 64)")
    if len(spec.tags) > MAX_LIST_ITEMS or any(not isinstance(t, str) or not _TAG.match(t) for t in spec.tags):
        raise _bad("tags should be single words")
    if not isinstance(spec.message, str) or len(spec.message) > MAX_TEXT:
        raise _bad(f"message should be text of at most {MAX_TEXT} characters")
    _relative_path("cwd", spec.cwd)
    if len(spec.params_files) > MAX_LIST_ITEMS:
        raise _bad("too many params_files")
    for path in spec.params_files:
        _relative_path("params_files", path)
    if spec.packages_of is not None:
        _link_value("packages_of", spec.packages_of)


def check_override(key: Any, value: Any) -> None:
    """An override is a dotted parameter name and a scalar (or a list of scalars)."""
    if not isinstance(key, str) or len(key) > 200 or not _KEY.match(key):
        raise _bad(f"override key '{_short(key)}' should be a dotted parameter name such as model.depth")
    if isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS or not all(_is_scalar(item) for item in value):
            raise _bad(f"override {key}: a list value holds only numbers, text and booleans")
    elif not _is_scalar(value):
        raise _bad(f"override {key}: the value should be a number, text, a boolean or a list of them")


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return len(value) <= MAX_ARG_CHARS and "\0" not in value
    return isinstance(value, bool | int)


def _relative_path(what: str, path: Any) -> None:
    if not isinstance(path, str) or not path or len(path) > 4096 or "\0" in path:
        raise _bad(f"{what} should be a relative path")
    parts = path.replace("\\", "/").split("/")
    if path.startswith("/") or ".." in parts or (len(path) > 1 and path[1] == ":"):
        raise _bad(f"{what} '{_short(path)}' should stay inside the repository (relative, no '..')")


def _link_value(key: Any, value: Any) -> str:
    if not isinstance(value, str) or not _LINK_VALUE.match(value):
        raise _bad(f"link {_short(key)} should be an id (letters, digits, '.', '_', '-'), not '{_short(value)}'")
    return value


def _text(data: Mapping[str, Any], key: str, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise _bad(f"{key} is missing")
        return ""
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise _bad(f"{key} should be text")
    return value


def _list(data: Mapping[str, Any], key: str, kind: type) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list) or len(value) > MAX_ARGS or not all(isinstance(item, kind) for item in value):
        raise _bad(f"{key} should be a list of {'text' if kind is str else 'tables'}")
    return value


def _override_key(item: Mapping[str, Any]) -> str:
    key = item.get("key")
    if not isinstance(key, str):
        raise _bad("an override has no key")
    return key


def _override_value(item: Mapping[str, Any]) -> Value:
    if "value" not in item:
        raise _bad(f"override {_short(item.get('key'))} has no value")
    value: Value = item["value"]
    return value


def _short(value: Any) -> str:
    text = str(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= 60 else text[:57] + "..."


def _bad(text: str) -> UsageError:
    return UsageError(f"invalid job spec: {text}")


def parse_assignment(text: str) -> tuple[str, Value]:
    """``lr=0.001`` (as typed after ``--set``) -> ``("lr", 0.001)``; UsageError when malformed.

    The value is typed as the command line would be (``gitrun.capture.params.coerce`` rules are in
    capture; here: int, float, true/false, else text), so ``--set depth=12`` stores the number 12.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UsageError(f"--set '{_short(text)}' should be KEY=VALUE", hint="e.g. --set lr=0.001")
    value = typed_value(raw)
    try:
        check_override(key, value)
    except UsageError as err:
        raise UsageError(f"--set '{_short(text)}': {str(err).removeprefix('invalid job spec: ')}")
    return key, value


_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


def typed_value(text: str) -> Value:
    """A typed value from text: true/false, an int, a finite float, ``[a,b]`` a list, else the text."""
    stripped = text.strip()
    if stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    if _INT.match(stripped) and not (len(stripped.lstrip("+-")) > 1 and stripped.lstrip("+-").startswith("0")):
        return int(stripped)
    if _FLOAT.match(stripped) and not stripped.lstrip("+-").isdigit():  # "007" stays text
        number = float(stripped)
        if math.isfinite(number):
            return number
    if len(stripped) >= 2 and stripped[0] == "[" and stripped[-1] == "]":
        inner = stripped[1:-1].strip()
        items = [typed_value(part) for part in inner.split(",")] if inner else []
        return [item for item in items if not isinstance(item, list)]
    return text


def value_text(value: Value) -> str:
    """How a value is written on a command line: ``true``/``false`` lower-case, lists ``[a,b]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ",".join(value_text(item) for item in value) + "]"
    return str(value)


def links_in(doc: Mapping[str, Any]) -> dict[str, str]:
    """The links a run's note carries (only well-formed ones)."""
    return {key: value for key in LINK_KEYS
            if isinstance(value := doc.get(key), str) and _LINK_VALUE.match(value)}


def as_overrides(pairs: Sequence[tuple[str, Value]]) -> tuple[tuple[str, Value], ...]:
    """Overrides with a repeated key kept once, at its last value (the last ``--set`` wins)."""
    last: dict[str, Value] = {}
    for key, value in pairs:
        last.pop(key, None)
        last[key] = value
    return tuple(last.items())


def spec_from_run(run: Run, *, overrides: Sequence[tuple[str, Value]] = (), links: Mapping[str, str] | None = None,
                  env: EnvMode = "current", name: str | None = None, tags: Sequence[str] = (),
                  message: str = "") -> JobSpec:
    """The job that runs ``run``'s command again at its snapshot (its ``--params``-like files included)."""
    if run.problems:
        raise UsageError(f"run {run.id[:10]} is broken: {run.problems[0]}", hint="it cannot be run again")
    if not run.command:
        raise UsageError(f"run {run.id[:10]} recorded no command", hint="only runs of `git run -- CMD` can run again")
    cwd = str(run.doc.get("cwd") or ".")
    return JobSpec(snapshot=run.snapshot_commit, command=tuple(run.command), overrides=as_overrides(overrides),
                   env=env, links=tuple((links or {}).items()), name=name, tags=tuple(tags), message=message,
                   cwd=cwd, params_files=tuple(param_files_of(run.doc)),
                   packages_of=run.id if env == "venv" else None)


def param_files_of(doc: Mapping[str, Any]) -> list[str]:
    """Repository-relative parameter files a run's parameters came from (``params_source`` ``file:``)."""
    sources = doc.get("params_source")
    found: list[str] = []
    for source in sources.values() if isinstance(sources, Mapping) else ():
        if isinstance(source, str) and source.startswith("file:"):
            path = source[len("file:"):]
            try:
                _relative_path("params_files", path)
            except UsageError:
                continue  # outside the repository: read where it is, never rewritten
            if path not in found:
                found.append(path)
    return found


def inputs_to_link(doc: Mapping[str, Any]) -> list[str]:
    """Repository-relative inputs of a run that its snapshot does not hold: data not in the snapshot
    (ignored files), and files the snapshot guard left out for their size."""
    found: list[str] = []
    for entry in doc.get("data") or ():
        if isinstance(entry, Mapping) and isinstance(entry.get("path"), str) and entry.get("location") != "snapshot":
            found.append(entry["path"])
    snapshot = doc.get("snapshot")
    for item in (snapshot.get("excluded") or ()) if isinstance(snapshot, Mapping) else ():
        if isinstance(item, Mapping) and isinstance(item.get("path"), str) and \
                str(item.get("reason", "")).startswith("untracked file larger"):
            found.append(item["path"])
    good = []
    for path in found:
        try:
            _relative_path("input", path)
        except UsageError:
            continue  # absolute: outside the repository, read where it is
        if path not in good:
            good.append(path)
    return good


__all__ = ["ENV_MODES", "LINK_KEYS", "EnvMode", "JobSpec", "Value", "as_overrides", "check_override",
           "inputs_to_link", "links_in", "param_files_of", "parse_assignment", "spec_from_run", "typed_value",
           "value_text"]
