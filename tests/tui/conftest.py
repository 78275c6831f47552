"""A project with four real runs (tests/run_fixtures.build_project), copied fresh for every test that
changes it, and helpers to drive the app with Textual's Pilot."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.run_fixtures import set_series, shared_project


@pytest.fixture(scope="session")
def project_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    ids = shared_project(tmp_path_factory)
    # run-b gets long series (a spike included) so charts have something to downsample
    repo = Path(ids["repo"])
    loss = [1.0 / (1 + step * 0.01) for step in range(5000)]
    loss[2500] = 50.0
    with pytest.MonkeyPatch.context() as patch:
        from tests.run_fixtures import isolated_env

        isolated_env(patch, repo.parent / "home")
        set_series(repo, ids["b"], {"loss": loss, "acc": [step / 5000 for step in range(5000)]})
        set_series(repo, ids["a"], {"loss": [0.9 - step * 0.0001 for step in range(3000)]})
    return ids


@pytest.fixture
def project(project_template: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        dict[str, Any]]:
    """A private copy of the project (tests write tags, notes, delete runs), as the current directory."""
    target = tmp_path / "project"
    shutil.copytree(project_template["repo"], target, symlinks=True)
    monkeypatch.chdir(target)
    yield {**project_template, "repo": str(target)}
