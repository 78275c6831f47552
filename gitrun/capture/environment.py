"""The ``env`` section of a run: the Python that runs the command and its packages, the OS,
the container, and the child's environment variables with secrets redacted.

The package list is the expensive part (a subprocess when the command's Python is not gitrun's
own), so it is cached per interpreter and invalidated by the modification times of the
directories that ``pip install`` changes; a cached capture costs a few milliseconds.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gitrun.capture import pyinfo
from gitrun.model.captured import Captured, failure_reason
from gitrun.model.secrets import redact_env, strip_url_credentials

PYINFO_TIMEOUT_S = 20.0
_CACHE_FORMAT = 1

# python, python3, python3.11, python3.13t, pypy3, pypy3.10, python.exe
_PYTHON_NAME = re.compile(r"^(?:python|pypy)(?:\d+(?:\.\d+)?t?)?(?:\.exe)?$")
# Tools that run a command inside a managed environment: ``uv run python train.py``.
_RUNNERS = frozenset({"uv", "poetry", "pdm", "pipenv", "hatch", "rye", "conda", "mamba", "micromamba"})
# Of those, the ones whose environment is usually the project's own .venv.
_PROJECT_VENV_RUNNERS = frozenset({"uv", "poetry", "pdm", "rye"})
# Variables that change which interpreter a launcher picks or what it sees on sys.path.
_INTERPRETER_VARS = ("PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "PYTHONUSERBASE", "PYENV_VERSION")
# Display-only variables: long, noisy, and irrelevant to a run's result.
_NOISY_VARS = frozenset({"LS_COLORS", "LSCOLORS", "TERMCAP"})
_NOISY_PREFIXES = ("LESS_TERMCAP_",)


class _ReportFailed(Exception):
    """The interpreter could not describe itself; ``str()`` is the reason to record."""


def capture_environment(
    command: Sequence[str], child_env: Mapping[str, str], cwd: Path, cache_dir: Path | None
) -> Captured:
    """Capture the ``env`` section for ``command`` run with ``child_env`` in ``cwd``.

    ``cache_dir`` (when given) holds the cached package lists. Never raises: a field that cannot
    be captured is recorded in ``missing`` with the reason.
    """
    result = Captured()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("python", lambda: _python_section(result, command, child_env, cwd, cache_dir)),
        ("container", lambda: result.data.update(container=_container(child_env))),
        ("os", lambda: result.data.update(os=_os_info())),
        ("vars", lambda: _vars_section(result, child_env)),
        ("locale", lambda: result.data.update(locale=_locale(child_env))),
        ("timezone", lambda: result.data.update(timezone=_timezone(child_env))),
    ]
    return result.run_steps(steps)



# --- which Python runs the command ----------------------------------------------------------------


def find_interpreter(
    command: Sequence[str], child_env: Mapping[str, str], cwd: Path
) -> tuple[str, str] | None:
    """(absolute path, source) of the Python that ``command`` runs, or None.

    source is "command" (argv names a Python), "shebang" (argv[0] is a Python script) or "PATH"
    (a guess: the first python3/python on the child's PATH, for commands such as ``sh -c``).
    """
    path_var = child_env.get("PATH", os.defpath)
    argv = _strip_env_wrapper(command)
    if argv and _PYTHON_NAME.match(os.path.basename(argv[0])):
        # The command names its Python: if that is not found the command cannot run either,
        # and another interpreter from PATH would be a wrong answer.
        exe = _which(argv[0], path_var, cwd)
        return (exe, "command") if exe is not None else None
    if argv:
        found = _python_from_argv(argv, path_var, cwd)
        if found is not None:
            return found
    for name in ("python3", "python"):
        exe = _which(name, path_var, cwd)
        if exe is not None:
            return exe, "PATH"
    return None


def _strip_env_wrapper(command: Sequence[str]) -> list[str]:
    """``env -i A=1 python x.py`` runs ``python x.py``."""
    argv = list(command)
    if argv and os.path.basename(argv[0]) == "env":
        argv = argv[1:]
        while argv and (argv[0].startswith("-") or "=" in argv[0]):
            argv = argv[1:]
    return argv


def _python_from_argv(argv: list[str], path_var: str, cwd: Path) -> tuple[str, str] | None:
    first = os.path.basename(argv[0])
    if first in _RUNNERS:
        exe = _runner_python(first, argv[1:], path_var, cwd)
        if exe is not None:
            return exe, "command"
    script = _which(argv[0], path_var, cwd)
    if script is not None:
        exe = _shebang_python(script, path_var, cwd)
        if exe is not None:
            return exe, "shebang"
    return None


def _which(name: str, path_var: str, cwd: Path) -> str | None:
    """Resolve ``name`` as exec would for the child: a path relative to ``cwd``, or a PATH search."""
    if os.sep in name or (os.altsep is not None and os.altsep in name):
        candidate = os.path.join(cwd, name)
        return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None
    found = shutil.which(name, path=path_var)
    return os.path.join(cwd, found) if found is not None else None


def _runner_python(runner: str, args: list[str], path_var: str, cwd: Path) -> str | None:
    """The Python a ``uv run``-style command runs: a later ``python`` argument, or the project's .venv."""
    project_venv = runner in _PROJECT_VENV_RUNNERS
    for arg in args:
        name = os.path.basename(arg)
        if not _PYTHON_NAME.match(name):
            continue
        local = cwd / ".venv" / "bin" / name
        if project_venv and os.sep not in arg and local.is_file():
            return str(local)
        return _which(arg, path_var, cwd)
    default = cwd / ".venv" / "bin" / "python"
    return str(default) if project_venv and default.is_file() else None


# pip writes this two-line launcher instead of a shebang when the interpreter path is too long.
_LONG_SHEBANG = re.compile(rb"^'''exec' \"?([^\"\s]+)\"?")


def _shebang_python(script: str, path_var: str, cwd: Path) -> str | None:
    """The Python named by ``script``'s ``#!`` line (``#!/usr/bin/env python3``, ``#!/venv/bin/python``)."""
    try:
        with open(script, "rb") as handle:
            head = handle.read(1024)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    lines = head.split(b"\n")
    words = lines[0][2:].decode("utf-8", "replace").split()
    if not words:
        return None
    interpreter, rest = words[0], words[1:]
    if os.path.basename(interpreter) == "env":
        names = [w for w in rest if not w.startswith("-") and "=" not in w]
        if names and _PYTHON_NAME.match(os.path.basename(names[0])):
            return _which(names[0], path_var, cwd)
        return None
    if _PYTHON_NAME.match(os.path.basename(interpreter)):
        return interpreter if os.path.isfile(interpreter) else None
    long_form = _LONG_SHEBANG.match(lines[1]) if len(lines) > 1 else None
    if long_form is not None:
        target = long_form.group(1).decode("utf-8", "replace")
        return target if os.path.isfile(target) else None
    return None


# --- what that Python reports, cached ---------------------------------------------------------------


def _python_section(
    result: Captured, command: Sequence[str], child_env: Mapping[str, str], cwd: Path, cache_dir: Path | None
) -> None:
    found = find_interpreter(command, child_env, cwd)
    if found is None:
        reason = _no_interpreter_reason(command)
        result.missing["python"] = reason
        result.missing["packages"] = reason
        _environment_names(result, None, child_env)
        return
    exe, source = found
    try:
        report = _interpreter_report(exe, child_env, cwd, cache_dir)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, _ReportFailed) else failure_reason(exc)
        result.data["python"] = {"executable": exe, "source": source}
        for field in ("python.version", "python.implementation", "packages"):
            result.missing[field] = reason
        _environment_names(result, None, child_env)
        return
    result.data["python"] = {
        "executable": report["executable"] or exe,
        "version": report["version"],
        "implementation": report["implementation"],
        "source": source,
    }
    result.data["packages"] = report["packages"]
    _environment_names(result, report, child_env)


def _no_interpreter_reason(command: Sequence[str]) -> str:
    argv = _strip_env_wrapper(command)
    if argv and _PYTHON_NAME.match(os.path.basename(argv[0])):
        return f"{argv[0]} not found"
    return "no Python interpreter on PATH"


def _interpreter_report(
    exe: str, child_env: Mapping[str, str], cwd: Path, cache_dir: Path | None
) -> dict[str, Any]:
    """pyinfo's report for ``exe``: from the cache, in-process, or from a subprocess."""
    key = _cache_key(exe, child_env, cwd)
    cache_file = _cache_file(cache_dir, key) if cache_dir is not None else None
    if cache_file is not None:
        cached = _load_cached(cache_file, key)
        if cached is not None:
            return cached
    raw = pyinfo.collect() if _is_current_interpreter(exe, child_env) else _run_pyinfo(exe, child_env, cwd)
    report = _clean_report(raw)
    if cache_file is not None:
        stamp_paths = [exe, os.path.realpath(exe), os.path.realpath(report["executable"] or exe)]
        stamp_paths += report["site_dirs"]
        if "cwd" in key:
            stamp_paths.append(str(cwd / ".python-version"))  # pyenv's per-directory choice
        _store_cached(
            cache_file,
            {"format": _CACHE_FORMAT, "key": key, "stamps": _stamps(stamp_paths), "report": report},
        )
    return report


def _venv_root(executable: str) -> str | None:
    """The virtual environment ``executable`` belongs to (by its unresolved path), if any."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(executable)))
    return root if os.path.isfile(os.path.join(root, "pyvenv.cfg")) else None


def _is_current_interpreter(exe: str, child_env: Mapping[str, str]) -> bool:
    """True when ``exe`` would see exactly what this process sees, so pyinfo can run in-process.

    A venv's python and its base interpreter resolve to the same binary, so the venv is compared too.
    """
    if os.path.realpath(exe) != os.path.realpath(sys.executable):
        return False
    if _venv_root(exe) != (sys.prefix if sys.prefix != sys.base_prefix else None):
        return False
    return all(child_env.get(var) == os.environ.get(var) for var in _INTERPRETER_VARS)


def _run_pyinfo(exe: str, child_env: Mapping[str, str], cwd: Path) -> Any:
    """Run pyinfo.py with ``exe`` in the child's environment and parse its report."""
    try:
        done = subprocess.run(
            [exe, pyinfo.__file__],
            env=dict(child_env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=PYINFO_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _ReportFailed(f"{exe} did not describe itself within {PYINFO_TIMEOUT_S:.0f} s")
    except OSError as exc:
        raise _ReportFailed(f"cannot run {exe}: {exc.strerror or exc}")
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        error = done.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = f": {error[-1]}" if error else ""
        raise _ReportFailed(f"{exe} exited with {done.returncode} describing itself{detail}"[:200])
    try:
        return json.loads(lines[-1])
    except ValueError:
        raise _ReportFailed(f"{exe} printed no report")


def _clean_report(raw: Any) -> dict[str, Any]:
    """Check the shape of a report (it may come from any interpreter or a stale cache file)."""
    if not isinstance(raw, dict):
        raise _ReportFailed("malformed interpreter report")
    report: dict[str, Any] = {}
    for field in ("executable", "version", "implementation", "prefix", "base_prefix"):
        value = raw.get(field)
        if not isinstance(value, str):
            raise _ReportFailed(f"interpreter report lacks {field}")
        report[field] = value
    sites = raw.get("site_dirs")
    report["site_dirs"] = [s for s in sites if isinstance(s, str)] if isinstance(sites, list) else []
    packages = raw.get("packages")
    report["packages"] = (
        [_clean_package(p) for p in packages if _is_package(p)] if isinstance(packages, list) else []
    )
    return report


def _is_package(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and isinstance(entry.get("version"), str)
    )


def _clean_package(entry: dict[str, Any]) -> dict[str, str]:
    package = {key: value for key, value in entry.items() if isinstance(key, str) and isinstance(value, str)}
    for field in ("url", "location"):
        if field in package:
            package[field] = strip_url_credentials(package[field])
    return package


def _cache_key(exe: str, child_env: Mapping[str, str], cwd: Path) -> dict[str, str]:
    key = {"executable": exe}
    key.update({var: child_env[var] for var in _INTERPRETER_VARS if var in child_env})
    if _is_script(exe):
        key["cwd"] = str(cwd)  # a launcher script (pyenv shim) may pick the interpreter by directory
    return key


def _is_script(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return False


def _cache_file(cache_dir: Path, key: Mapping[str, str]) -> Path:
    # The key is stored in the file and compared on load, so a checksum collision only costs a miss.
    digest = zlib.crc32(json.dumps(key, sort_keys=True).encode())
    return cache_dir / f"python-{digest:08x}.json"


def _stamps(paths: Iterable[str]) -> dict[str, int]:
    """Modification time of each path; -1 for one that does not exist (its creation must count)."""
    stamps: dict[str, int] = {}
    for path in paths:
        try:
            stamps[path] = os.stat(path).st_mtime_ns
        except OSError:
            stamps[path] = -1
    return stamps


def _load_cached(cache_file: Path, key: Mapping[str, str]) -> dict[str, Any] | None:
    try:
        entry = json.loads(cache_file.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("format") != _CACHE_FORMAT or entry.get("key") != key:
        return None
    stamps = entry.get("stamps")
    if not isinstance(stamps, dict) or _stamps(stamps) != stamps:
        return None
    try:
        return _clean_report(entry.get("report"))
    except _ReportFailed:
        return None


def _store_cached(cache_file: Path, entry: dict[str, Any]) -> None:
    """Write atomically; a cache that cannot be written only costs speed, so errors are ignored."""
    import tempfile

    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=cache_file.parent, prefix=".python-", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(entry, handle)
        os.replace(temp, cache_file)
    except OSError:
        try:
            os.unlink(temp)
        except OSError:
            pass


def _environment_names(result: Captured, report: dict[str, Any] | None, child_env: Mapping[str, str]) -> None:
    """``virtualenv`` and ``conda_env``: from the interpreter when known, else from the variables."""
    prefix = report["prefix"] if report is not None else None
    if report is not None and report["prefix"] != report["base_prefix"]:
        result.data["virtualenv"] = report["prefix"]
    elif report is None and child_env.get("VIRTUAL_ENV"):
        result.data["virtualenv"] = child_env["VIRTUAL_ENV"]
    conda_prefix = child_env.get("CONDA_PREFIX", "")
    if prefix is not None and os.path.isdir(os.path.join(prefix, "conda-meta")):
        conda_prefix = prefix
    if conda_prefix:
        same = conda_prefix == child_env.get("CONDA_PREFIX") and child_env.get("CONDA_DEFAULT_ENV")
        name = child_env["CONDA_DEFAULT_ENV"] if same else os.path.basename(conda_prefix.rstrip("/"))
        result.data["conda_env"] = {"name": name, "prefix": conda_prefix}


# --- machine, container, variables -------------------------------------------------------------------


def _container(child_env: Mapping[str, str]) -> dict[str, str]:
    """What kind of container this runs in, or ``{"kind": "none"}``."""
    environ = {**os.environ, **child_env}
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return {"kind": "kubernetes"}
    if environ.get("container"):  # set by podman, systemd-nspawn, lxc
        return {"kind": environ["container"]}
    if os.path.exists("/.dockerenv"):
        return {"kind": "docker"}
    if os.path.exists("/run/.containerenv"):
        return {"kind": "podman"}
    try:
        cgroup = Path("/proc/1/cgroup").read_text(errors="replace")
    except OSError:
        cgroup = ""
    for marker, kind in (("kubepods", "kubernetes"), ("docker", "docker"), ("libpod", "podman")):
        if marker in cgroup:
            return {"kind": kind}
    for marker in ("containerd", "lxc"):
        if marker in cgroup:
            return {"kind": marker}
    return {"kind": "none"}


def _os_info() -> dict[str, str]:
    uname = platform.uname()
    info = {
        "system": uname.system,
        "release": uname.release,
        "version": uname.version,
        "machine": uname.machine,
    }
    distro = _distro(uname.system)
    if distro:
        info["distro"] = distro
    return info


def _distro(system: str) -> str:
    if system == "Darwin":
        release = platform.mac_ver()[0]
        return f"macOS {release}" if release else "macOS"
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            text = Path(path).read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.partition("=")[2].strip().strip("\"'")
    return ""


def _vars_section(result: Captured, child_env: Mapping[str, str]) -> None:
    kept = {
        _printable(name): _printable(value)
        for name, value in child_env.items()
        if name not in _NOISY_VARS and not name.startswith(_NOISY_PREFIXES)
    }
    recorded, redacted = redact_env(kept)
    result.data["vars"] = dict(sorted(recorded.items()))
    result.data["redacted"] = redacted


def _printable(value: str) -> str:
    """Undecodable bytes arrive as lone surrogates, which cannot be written as UTF-8 TOML."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _locale(child_env: Mapping[str, str]) -> str:
    """The child's character-type locale: LC_ALL overrides LC_CTYPE overrides LANG; POSIX default "C"."""
    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        if child_env.get(var):
            return child_env[var]
    return "C"


def _timezone(child_env: Mapping[str, str]) -> str:
    """The child's time zone: $TZ, else the system's zone name, else the abbreviation."""
    if child_env.get("TZ"):
        return child_env["TZ"]
    try:
        name = Path("/etc/timezone").read_text().strip()
        if name:
            return name
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    return time.tzname[0]
