"""A fresh virtual environment rebuilt from a run's recorded packages (``reproduce --env venv``).

Built with uv (``uv venv`` + ``uv pip install``) when it is installed (the ``uv`` executable on
PATH, or the ``uv`` Python package), else with ``python -m venv`` + pip. Cached by the hash of the
package set and the Python version under ``$XDG_CACHE_HOME/gitrun/venvs/<hash>`` (default
``~/.cache/gitrun/venvs``; ``GITRUN_VENV_CACHE`` overrides), so a second reproduction of the same
environment starts at once. A build goes to a temporary folder renamed into place when complete:
concurrent builders never see half an environment. Index options come from the usual variables
(``UV_INDEX_URL``, ``UV_FIND_LINKS``, ``UV_NO_INDEX``; ``PIP_INDEX_URL``, ``PIP_FIND_LINKS``,
``PIP_NO_INDEX``) or from ``find_links``/``no_index``.

Packages installed in editable mode or from a local path cannot be rebuilt elsewhere: they are left
out and reported (``VenvBuild.not_rebuilt``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitrun.errors import GitrunError
from gitrun.model.reproduce import normalise_package, packages_by_name, packages_that_matter

NOT_REBUILDABLE_INSTALLERS = ("editable", "local")
COMPLETE_MARK = ".gitrun-complete"
# Never rebuilt into the environment: gitrun reaches the run through its startup hook, not an install.
SKIPPED = frozenset({"gitrun"})


class NotRebuildable(GitrunError):
    """The recorded environment could not be built here (the verdict ``not rebuildable``)."""

    exit_code = 3


@dataclass
class VenvBuild:
    root: Path
    python: Path
    tool: str  # uv | pip
    cached: bool
    requirements: list[str] = field(default_factory=list)
    not_rebuilt: list[str] = field(default_factory=list)  # "name (editable at /path)"

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` with the environment's bin folder first on PATH, as ``activate`` would do."""
        env = dict(base)
        env["VIRTUAL_ENV"] = str(self.root)
        env["PATH"] = os.pathsep.join([str(self.root / "bin"), env.get("PATH", os.defpath)])
        env.pop("PYTHONHOME", None)
        env.pop("CONDA_PREFIX", None)
        return env


def requirements_of(env: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Pip requirement lines for a run's packages, and the packages that cannot be rebuilt.

    The packages the run imported are installed pinned; every other recorded package becomes a
    constraint (``--constraint``), so dependencies resolve to the recorded versions too.
    """
    recorded = packages_by_name(env)
    wanted = set(packages_that_matter(env))
    requirements: list[str] = []
    not_rebuilt: list[str] = []
    for key in sorted(recorded):
        entry = recorded[key]
        if key in SKIPPED or key not in wanted:
            continue
        line = _requirement(entry)
        if line is None:
            where = entry.get("location") or entry.get("url") or ""
            not_rebuilt.append(f"{entry.get('name', key)} ({entry.get('installer')} at {where})")
        else:
            requirements.append(line)
    return requirements, not_rebuilt


def constraints_of(env: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, entry in sorted(packages_by_name(env).items()):
        if key in SKIPPED or entry.get("installer") not in (None, "pip", "conda", "uv"):
            continue
        if isinstance(entry.get("version"), str) and entry["version"]:
            lines.append(f"{entry['name']}=={entry['version']}")
    return lines


def _requirement(entry: Mapping[str, Any]) -> str | None:
    name, version, installer = str(entry.get("name", "")), str(entry.get("version", "")), entry.get("installer")
    if installer in NOT_REBUILDABLE_INSTALLERS:
        return None
    if installer == "vcs" and isinstance(entry.get("url"), str):
        commit = entry.get("commit")
        vcs = entry.get("vcs", "git")
        return f"{name} @ {vcs}+{entry['url']}" + (f"@{commit}" if isinstance(commit, str) else "")
    if installer == "url" and isinstance(entry.get("url"), str):
        return f"{name} @ {entry['url']}"
    return f"{name}=={version}" if version else name


def cache_root() -> Path:
    override = os.environ.get("GITRUN_VENV_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gitrun" / "venvs"


def environment_key(requirements: Sequence[str], constraints: Sequence[str], python_version: str) -> str:
    text = "\n".join(["python " + ".".join(python_version.split(".")[:2]), *sorted(requirements), "--",
                      *sorted(constraints)])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def find_uv() -> str | None:
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]  # the `uv` package (gitrun[reproduce])

        return str(find_uv_bin())
    except Exception:
        return None


def build_venv(env: Mapping[str, Any], *, find_links: Sequence[str] = (), no_index: bool = False,
               say: Any = None) -> VenvBuild:
    """The cached environment for a run's recorded ``env`` table, built first when absent."""
    requirements, not_rebuilt = requirements_of(env)
    constraints = constraints_of(env)
    python = env.get("python") if isinstance(env.get("python"), Mapping) else {}
    assert isinstance(python, Mapping)
    version = str(python.get("version", ""))
    key = environment_key(requirements, constraints, version)
    root = cache_root() / key
    interpreter = root / "bin" / "python"
    uv = find_uv()
    if (root / COMPLETE_MARK).is_file() and interpreter.exists():
        return VenvBuild(root, interpreter, "uv" if uv else "pip", True, requirements, not_rebuilt)
    root.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root.parent))
    try:
        if say is not None:
            say(f"building a virtual environment ({len(requirements)} packages, with {'uv' if uv else 'pip'}) "
                f"in {root}")
        if uv:
            _build_with_uv(uv, building, version, requirements, constraints, find_links, no_index)
        else:
            _build_with_pip(building, requirements, constraints, find_links, no_index)
        (building / COMPLETE_MARK).write_text("\n".join(requirements) + "\n")
        try:
            building.rename(root)
        except OSError:
            if not (root / COMPLETE_MARK).is_file():  # someone else finished first: theirs is as good
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return VenvBuild(root, interpreter, "uv" if uv else "pip", False, requirements, not_rebuilt)


def _index_args(find_links: Sequence[str], no_index: bool) -> list[str]:
    args = [arg for link in find_links for arg in ("--find-links", link)]
    return [*args, "--no-index"] if no_index else args


def _build_with_uv(uv: str, root: Path, version: str, requirements: Sequence[str], constraints: Sequence[str],
                   find_links: Sequence[str], no_index: bool) -> None:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": os.environ.get("UV_PYTHON_DOWNLOADS", "never")}
    env.pop("VIRTUAL_ENV", None)
    wanted = ".".join(version.split(".")[:2])
    created = _run([uv, "venv", "--quiet", "--python", wanted, str(root)], env, check=False) if wanted else None
    if created is None or created.returncode != 0:  # that Python is not here: this one (reported by the pre-checks)
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(root)], env)
    if not requirements:
        return
    constraint_file = root / "gitrun-constraints.txt"
    constraint_file.write_text("\n".join(constraints) + "\n")
    _run([uv, "pip", "install", "--quiet", "--python", str(root / "bin" / "python"), "--constraint",
          str(constraint_file), *_index_args(find_links, no_index), *requirements], env)


def _build_with_pip(root: Path, requirements: Sequence[str], constraints: Sequence[str], find_links: Sequence[str],
                    no_index: bool) -> None:
    _run([sys.executable, "-m", "venv", str(root)], dict(os.environ))
    if not requirements:
        return
    constraint_file = root / "gitrun-constraints.txt"
    constraint_file.write_text("\n".join(constraints) + "\n")
    _run([str(root / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          "--constraint", str(constraint_file), *_index_args(find_links, no_index), *requirements],
         dict(os.environ))


def _run(args: Sequence[str], env: Mapping[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(list(args), env=dict(env), capture_output=True, text=True, check=False, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise NotRebuildable(f"{Path(args[0]).name} could not run: {err}")
    if check and proc.returncode != 0:
        lines = [line.strip() for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
        reason = next((line for line in lines if line.lower().startswith(("error", "×", "because"))),
                      lines[-1] if lines else f"exit status {proc.returncode}")
        raise NotRebuildable(f"the environment could not be rebuilt: {reason}",
                             hint="packages must be installable here (an index, or --find-links DIR)")
    return proc


__all__ = ["NotRebuildable", "VenvBuild", "build_venv", "cache_root", "find_uv", "normalise_package",
           "requirements_of"]
