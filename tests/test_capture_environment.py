"""The ``env`` capture against real interpreters, real virtual environments and real pip installs."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from gitrun.capture import pyinfo
from gitrun.capture.environment import capture_environment, find_interpreter
from gitrun.model.secrets import REDACTED

# A complete PEP 517/660 build backend in a few lines, so that the test installs real packages with
# pip, offline, without depending on setuptools or wheel being installed.
BACKEND = """
import base64, hashlib, os, zipfile

def _meta():
    name, version = open("NAME").read().split()
    return name, version

def _dist_info(name, version):
    return {
        f"{name}-{version}.dist-info/METADATA": "Metadata-Version: 2.1\\n"
        f"Name: {name}\\nVersion: {version}\\n",
        f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: tiny\\nRoot-Is-Purelib: true\\n"
        "Tag: py3-none-any\\n",
    }

def _wheel(directory, files):
    name, version = _meta()
    files = {**files, **_dist_info(name, version)}
    record = f"{name}-{version}.dist-info/RECORD"
    lines = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        lines.append(f"{path},sha256={digest},{len(text.encode())}")
    files[record] = "\\n".join(lines + [f"{record},,"]) + "\\n"
    wheel = f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, wheel), "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name, _ = _meta()
    return _wheel(wheel_directory, {f"{name}/__init__.py": "VALUE = 1\\n"})

def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    name, _ = _meta()
    return _wheel(wheel_directory, {f"_{name}_editable.pth": os.path.abspath("src") + "\\n"})
"""


def make_project(root: Path, name: str, version: str) -> Path:
    project = root / name
    (project / "src" / name).mkdir(parents=True)
    (project / "src" / name / "__init__.py").write_text("VALUE = 1\n")
    (project / "NAME").write_text(f"{name} {version}\n")
    (project / "tiny_backend.py").write_text(BACKEND)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "tiny_backend"\nbackend-path = ["."]\n'
    )
    return project


def make_venv(path: Path) -> Path:
    """A bare venv (no pip: fast) whose python also sees this venv's packages, pip included."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    outer = importlib.metadata.distribution("pytest").locate_file("")
    (Path(purelib) / "outer.pth").write_text(f"{outer}\n")
    return python


@dataclass
class Foreign:
    """A virtual environment other than the one running the tests, at ``project/.venv``."""

    project: Path
    python: Path
    editable_source: Path
    local_source: Path


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Foreign:
    root = tmp_path_factory.mktemp("foreign")
    project = root / "project"
    project.mkdir()
    python = make_venv(project / ".venv")
    editable = make_project(root, "tinyedit", "0.3.1")
    local = make_project(root, "tinylocal", "1.2.0")
    pip = [str(python), "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "--no-index"]
    subprocess.run([*pip, "-e", str(editable)], check=True, cwd=root, capture_output=True)
    subprocess.run([*pip, str(local)], check=True, cwd=root, capture_output=True)
    return Foreign(project, python, editable, local)


def child_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    return env


def by_name(packages: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {package["name"].lower(): package for package in packages}


def assert_toml_serialisable(data: Mapping[str, Any]) -> None:
    tomli_w.dumps(dict(data))


def test_own_interpreter_lists_pytest_and_pygit2(tmp_path: Path) -> None:
    result = capture_environment([sys.executable, "train.py"], child_env(), tmp_path, None)
    python = result.data["python"]
    assert os.path.realpath(python["executable"]) == os.path.realpath(sys.executable)
    assert python["version"] == platform.python_version()
    assert python["implementation"] == platform.python_implementation()
    assert python["source"] == "command"
    packages = by_name(result.data["packages"])
    for name in ("pytest", "pygit2"):
        assert packages[name]["version"] == importlib.metadata.version(name)
        assert packages[name]["installer"] == "pip"
    # sorted by the normalised name (PEP 503): pydantic_core before pydantic-settings
    names = [re.sub(r"[-_.]+", "-", package["name"]).lower() for package in result.data["packages"]]
    assert names == sorted(names)
    assert "packages" not in result.missing and "python" not in result.missing
    assert_toml_serialisable(result.data)


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_foreign_venv_flags_editable_and_local_installs(foreign: Foreign, tmp_path: Path) -> None:
    result = capture_environment([str(foreign.python), "train.py"], child_env(), tmp_path, None)
    assert result.missing == {}
    assert result.data["python"]["executable"] == str(foreign.python)
    assert result.data["virtualenv"] == str(foreign.project / ".venv")
    packages = by_name(result.data["packages"])
    assert packages["tinyedit"] == {
        "name": "tinyedit",
        "version": "0.3.1",
        "installer": "editable",
        "location": str(foreign.editable_source),
    }
    assert packages["tinylocal"] == {
        "name": "tinylocal",
        "version": "1.2.0",
        "installer": "local",
        "location": str(foreign.local_source),
    }
    assert packages["pytest"]["version"] == importlib.metadata.version("pytest")  # seen through outer.pth
    assert_toml_serialisable(result.data)


def test_a_shell_command_picks_the_python_on_path(foreign: Foreign, tmp_path: Path) -> None:
    env = child_env(PATH=f"{foreign.python.parent}:/usr/bin:/bin")
    result = capture_environment(["sh", "-c", "true"], env, tmp_path, None)
    assert result.data["python"]["source"] == "PATH"
    assert result.data["python"]["executable"].startswith(str(foreign.project / ".venv"))


def test_no_python_on_path_is_recorded_not_raised(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = capture_environment(["sh", "-c", "true"], {"PATH": str(empty)}, tmp_path, None)
    assert result.missing["python"] == "no Python interpreter on PATH"
    assert "python" not in result.data and "packages" not in result.data
    assert result.data["os"]["system"] == platform.system()
    result = capture_environment(["python3.99", "x.py"], {"PATH": str(empty)}, tmp_path, None)
    assert result.missing["python"] == "python3.99 not found"


def test_shebang_names_the_interpreter(foreign: Foreign, tmp_path: Path) -> None:
    by_env = tmp_path / "by_env.py"
    by_env.write_text("#!/usr/bin/env python3\nprint(1)\n")
    by_path = tmp_path / "by_path.py"
    by_path.write_text(f"#!{foreign.python}\nprint(1)\n")
    for script in (by_env, by_path):
        script.chmod(0o755)
    env = child_env(PATH=f"{foreign.python.parent}:/usr/bin:/bin")
    assert find_interpreter(["./by_env.py", "--lr", "1"], env, tmp_path) == (
        str(foreign.python.parent / "python3"),
        "shebang",
    )
    assert find_interpreter([str(by_path)], child_env(), tmp_path) == (str(foreign.python), "shebang")


def test_wrappers_resolve_to_the_python_they_run(foreign: Foreign) -> None:
    venv_python = str(foreign.project / ".venv" / "bin" / "python")
    env = child_env(PATH="/usr/bin:/bin")
    assert find_interpreter(["uv", "run", "python", "train.py"], env, foreign.project) == (
        venv_python,
        "command",
    )
    assert find_interpreter(["uv", "run", "train.py"], env, foreign.project) == (venv_python, "command")
    assert find_interpreter(["env", "A=1", str(foreign.python), "x.py"], env, foreign.project) == (
        str(foreign.python),
        "command",
    )


def test_secret_variables_are_redacted(tmp_path: Path) -> None:
    aws = "AKIA" + "ABCDEFGH23456789"
    env = child_env(
        MY_API_TOKEN="abc",
        HARMLESS=aws,
        TOKENIZERS_PARALLELISM="false",
        LS_COLORS="di=01;34",
        LESS_TERMCAP_mb="x",
    )
    result = capture_environment(["true"], env, tmp_path, None)
    recorded = result.data["vars"]
    assert recorded["MY_API_TOKEN"] == REDACTED
    assert recorded["HARMLESS"] == REDACTED
    assert recorded["TOKENIZERS_PARALLELISM"] == "false"
    assert "LS_COLORS" not in recorded and "LESS_TERMCAP_mb" not in recorded
    assert {"MY_API_TOKEN", "HARMLESS"} <= set(result.data["redacted"])
    assert "abc" not in json.dumps(recorded) and aws not in json.dumps(result.data)
    assert_toml_serialisable(result.data)


def test_the_cache_makes_a_second_capture_fast_and_identical(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    cache = tmp_path / "cache"
    command = [str(python), "train.py"]

    start = time.perf_counter()
    cold = capture_environment(command, child_env(), tmp_path, cache)
    cold_s = time.perf_counter() - start
    start = time.perf_counter()
    warm = capture_environment(command, child_env(), tmp_path, cache)
    warm_s = time.perf_counter() - start

    assert cold.missing == {} and warm.missing == {}
    assert warm.data["packages"] == cold.data["packages"]
    assert warm.data["python"] == cold.data["python"]
    assert warm_s < cold_s / 3, f"cold {cold_s * 1000:.1f} ms, cached {warm_s * 1000:.1f} ms"
    assert len(list(cache.glob("python-*.json"))) == 1
    assert not list(cache.glob(".python-*"))  # no temporary file left behind


def test_installing_a_package_invalidates_the_cache(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    cache = tmp_path / "cache"
    command = [str(python), "train.py"]
    before = capture_environment(command, child_env(), tmp_path, cache)
    assert "newpkg" not in by_name(before.data["packages"])

    site = Path(python.parent.parent / "lib").glob("python*/site-packages")
    dist_info = next(site) / "newpkg-2.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: newpkg\nVersion: 2.0\n")
    after = capture_environment(command, child_env(), tmp_path, cache)
    assert by_name(after.data["packages"])["newpkg"] == {
        "name": "newpkg",
        "version": "2.0",
        "installer": "pip",
    }


def test_a_corrupt_cache_file_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = capture_environment([sys.executable], child_env(), tmp_path, cache)
    for entry in cache.glob("python-*.json"):
        entry.write_text("{not json")
    again = capture_environment([sys.executable], child_env(), tmp_path, cache)
    assert again.data["packages"] == first.data["packages"]


def test_a_broken_interpreter_is_recorded_not_raised(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python3"
    fake.write_text("#!/bin/sh\necho 'boom' >&2\nexit 3\n")
    fake.chmod(0o755)
    result = capture_environment(["python3", "x.py"], {"PATH": f"{bin_dir}:/usr/bin:/bin"}, tmp_path, None)
    assert result.data["python"] == {"executable": str(fake), "source": "command"}
    assert "exited with 3" in result.missing["packages"] and "boom" in result.missing["packages"]
    assert "python.version" in result.missing
    assert_toml_serialisable(result.data)


def test_container_os_locale_and_timezone_are_recorded(tmp_path: Path) -> None:
    result = capture_environment(["true"], child_env(LANG="de_DE.UTF-8", TZ="Europe/Berlin"), tmp_path, None)
    assert isinstance(result.data["container"]["kind"], str) and result.data["container"]["kind"]
    assert result.data["os"]["system"] == platform.system()
    assert result.data["os"]["release"] == platform.release()
    assert result.data["locale"] == "de_DE.UTF-8"
    assert result.data["timezone"] == "Europe/Berlin"


def test_pyinfo_runs_standalone_by_path() -> None:
    done = subprocess.run([sys.executable, pyinfo.__file__], capture_output=True, text=True, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["version"] == platform.python_version()
    assert "pytest" in {package["name"].lower() for package in report["packages"]}
