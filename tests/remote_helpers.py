"""A team around one git server: a bare repository served by ``git daemon`` on 127.0.0.1, and clones
with their own identities. Used by the sharing and check tests."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import git, gitrun


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    base: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"git://127.0.0.1:{self.port}/shared.git"

    @property
    def bare(self) -> Path:
        return self.base / "shared.git"

    def refs(self, prefix: str = "refs/experiments/") -> dict[str, str]:
        out = git(self.bare, "for-each-ref", "--format=%(refname) %(objectname)", prefix)
        pairs = (line.split(" ", 1) for line in out.splitlines() if line)
        return {name: sha for name, sha in pairs}


@dataclass
class User:
    name: str
    path: Path

    @property
    def env(self) -> dict[str, str]:
        email = f"{self.name.lower()}@example.com"
        return {"GIT_AUTHOR_NAME": self.name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": self.name,
                "GIT_COMMITTER_EMAIL": email, "USER": self.name.lower()}

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return gitrun(self.path, *args, check=check, env=self.env)

    def record(self, *command: str, extra: tuple[str, ...] = ()) -> str:
        """Record a run, return its id."""
        self.run(*extra, "-q", "--", *command)
        return str(self.runs()[0]["id"])

    def runs(self) -> list[dict[str, object]]:
        return list(json.loads(self.run("list", "--json", "--all-branches").stdout))


@pytest.fixture(name="server")
def server_fixture(tmp_path: Path) -> Iterator[Server]:
    base = tmp_path / "server"
    base.mkdir()
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(base / "shared.git")], check=True)
    port = _free_port()
    process = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", f"--base-path={base}", "--export-all", "--enable=receive-pack",
         "--listen=127.0.0.1", f"--port={port}", "--informative-errors", str(base)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("git daemon did not start")
            time.sleep(0.02)
    yield Server(base, port, process)
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()


def make_user(server: Server, tmp_path: Path, name: str, seed: bool = False) -> User:
    """A clone of the server with its own identity (``seed``: create the first commit and push it)."""
    path = tmp_path / name.lower()
    subprocess.run(["git", "clone", "-q", server.url, str(path)], check=True, capture_output=True)
    git(path, "config", "user.name", name)
    git(path, "config", "user.email", f"{name.lower()}@example.com")
    user = User(name, path)
    if seed:
        (path / "train.py").write_text("print('loss: 0.5')\n")
        git(path, "add", ".")
        git(path, "commit", "-q", "-m", "initial")
        git(path, "push", "-q", "origin", "main")
    else:
        git(path, "pull", "-q", "origin", "main", check=False)
    return user


@pytest.fixture(name="team")
def team_fixture(server: Server, tmp_path: Path) -> list[User]:
    """Three users (Ada, Bob, Cy) with clones of one project."""
    ada = make_user(server, tmp_path, "Ada", seed=True)
    return [ada, make_user(server, tmp_path, "Bob"), make_user(server, tmp_path, "Cy")]


def make_runs_fast(repo: Path, count: int, user: str = "ada") -> list[str]:
    """``count`` finished runs made in-process with gitrun's own store (seconds instead of minutes)."""
    import pygit2

    from gitrun.model.ids import new_run_id, new_run_name
    from gitrun.model.timefmt import to_iso, utc_now
    from gitrun.store.git import open_repository
    from gitrun.store.runs import RunStore
    from gitrun.store.trees import build_tree

    pyrepo, paths = open_repository(repo)
    store = RunStore(pyrepo, paths)
    head = pyrepo.head.peel(pygit2.Commit)
    files: dict[str, bytes | pygit2.Oid] = {e.name: e.id for e in head.tree if e.type_str == "blob" and e.name}
    ids = []
    for index in range(count):
        run_id = new_run_id()
        files["params.yaml"] = f"lr: {index}\n".encode()
        now = to_iso(utc_now())
        doc = {"schema": 1, "id": run_id, "name": new_run_name(), "status": "succeeded", "exit_code": 0,
               "command": ["true"], "started": now, "ended": now, "user": user, "host": "test", "tags": []}
        run = store.create(run_id, build_tree(pyrepo, files), head.id, f"run {index}", doc)
        store.save_result(run, {"logs/output.log": f"loss: {index}\n".encode()})
        ids.append(run_id)
    return ids
