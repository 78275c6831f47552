"""Datasets: ``--data`` hashes, named versions, the stat cache, files a Python run read, ``data ls``/``diff``."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import blake3
import pytest

from gitrun.model.datasets import group_by_folder, parse_data_spec, skip_reason
from tests.conftest import git, gitrun


def b3(data: bytes) -> str:
    return "blake3:" + blake3.blake3(data).hexdigest()


def folder_hash_by_hand(root: Path) -> str:
    """The documented folder hash, computed independently of gitrun."""
    lines = []
    for path in root.rglob("*"):
        if path.is_file():
            rel = path.relative_to(root).as_posix()
            lines.append((rel.encode(), b3(path.read_bytes())))
    lines.sort()
    return b3(b"".join(rel + b"\0" + digest.encode() + b"\n" for rel, digest in lines))


def runs(repo: Path) -> list[dict[str, Any]]:
    return json.loads(gitrun(repo, "list", "--json").stdout)


def last_run(repo: Path) -> dict[str, Any]:
    return json.loads(gitrun(repo, "show", runs(repo)[0]["id"], "--json").stdout)


def by_path(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["path"]: entry for entry in run.get("data", [])}


def make_dataset(root: Path) -> None:
    (root / "train" / "cat").mkdir(parents=True)
    (root / "train" / "dog").mkdir(parents=True)
    (root / "train" / "cat" / "1.jpg").write_bytes(b"meow" * 100)
    (root / "train" / "dog" / "1.jpg").write_bytes(b"woof" * 100)
    (root / "labels.csv").write_text("file,label\ncat/1.jpg,cat\n")
    (root / "empty.txt").write_bytes(b"")


@pytest.fixture
def data_repo(repo: Path) -> Path:
    (repo / ".gitignore").write_text("data/\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "ignore data")
    make_dataset(repo / "data" / "imagenet-mini")
    return repo


def test_declared_folder_and_files_record_hash_size_count_and_where_they_live(data_repo: Path,
                                                                              tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "features.bin"
    outside.parent.mkdir()
    outside.write_bytes(b"\x00\x01" * 1000)
    shared = tmp_path / "shared" / "vocab.txt"
    shared.parent.mkdir()
    shared.write_text("a\nb\n")
    mounted = tmp_path / "mnt" / "s3" / "table.parquet"
    mounted.parent.mkdir(parents=True)
    mounted.write_bytes(b"PAR1")
    (data_repo / "pyproject.toml").write_text(
        f'[tool.gitrun]\ndata_remotes = ["s3://bucket/x", "{shared.parent}", '
        f'{{ url = "s3://bucket/y", path = "{mounted.parent}" }}]\n')
    gitrun(data_repo, "--data", "data/imagenet-mini", "--data", str(outside), "--data", str(shared),
           "--data", "train.py", "--data", str(mounted), "--", sys.executable, "-c", "pass")
    run = last_run(data_repo)
    entries = by_path(run)
    folder = entries["data/imagenet-mini"]
    root = data_repo / "data" / "imagenet-mini"
    assert folder["hash"] == folder_hash_by_hand(root)
    assert folder["files"] == 4
    assert folder["size"] == 400 + 400 + len("file,label\ncat/1.jpg,cat\n")
    assert folder["location"] == "ignored"
    assert folder["declared"] is True
    assert folder["name"] == "" and folder["version"] == ""
    # the per-file list is in the result commit, sorted, and matches the files
    listing = git(data_repo, "show", f"{run['result_commit']}:{folder['list']}")
    assert listing.splitlines() == [
        f"empty.txt\t0\t{b3(b'')}",
        f"labels.csv\t{(root / 'labels.csv').stat().st_size}\t{b3((root / 'labels.csv').read_bytes())}",
        f"train/cat/1.jpg\t400\t{b3(b'meow' * 100)}",
        f"train/dog/1.jpg\t400\t{b3(b'woof' * 100)}",
    ]
    single = entries[str(outside)]
    assert single == {"path": str(outside), "name": "", "version": "", "hash": b3(outside.read_bytes()),
                      "size": 2000, "files": 1, "location": "outside", "declared": True}
    assert entries[str(shared)]["location"] == "shared"
    assert entries[str(mounted)]["location"] == "shared"
    assert entries["train.py"]["location"] == "snapshot"
    # the text view shows them too
    shown = gitrun(data_repo, "show", run["id"]).stdout
    assert "data/imagenet-mini" in shown and folder["hash"][:19] in shown


def test_named_version_is_in_the_start_note_and_odd_specs_are_paths(data_repo: Path, tmp_path: Path) -> None:
    (data_repo / "data" / "x=1.csv").write_text("1\n")
    probe = tmp_path / "during.json"
    # While the run is going, its note already holds the declared data.
    script = f"import subprocess, sys, os; open({str(probe)!r}, 'w').write(subprocess.run(" \
             f"[sys.executable, '-m', 'gitrun', 'show', os.environ['GITRUN_RUN_ID'], '--json']," \
             f" capture_output=True, text=True).stdout)"
    gitrun(data_repo, "--data", "imagenet-mini:v3=data/imagenet-mini", "--data", "data/x=1.csv",
           "--", sys.executable, "-c", script)
    during = json.loads(probe.read_text())
    assert during["status"] == "running"
    entries = by_path(during)
    assert entries["data/imagenet-mini"]["name"] == "imagenet-mini"
    assert entries["data/imagenet-mini"]["version"] == "v3"
    assert entries["data/x=1.csv"]["name"] == ""
    assert by_path(last_run(data_repo))["data/imagenet-mini"]["version"] == "v3"


def test_spec_parsing() -> None:
    assert parse_data_spec("imagenet:v3=data/in").name == "imagenet"
    assert parse_data_spec("imagenet:v3=data/in").version == "v3"
    assert parse_data_spec("imagenet=data/in").path == "data/in"
    assert parse_data_spec("data/x=1.csv").path == "data/x=1.csv"
    assert parse_data_spec("=x").path == "=x"
    assert parse_data_spec("a b=c").path == "a b=c"


def test_missing_data_path_is_refused_before_a_run_exists(data_repo: Path) -> None:
    proc = gitrun(data_repo, "--data", "data/imagenet-mnii", "--", sys.executable, "-c", "pass", check=False)
    assert proc.returncode == 2
    assert "no such file or folder" in proc.stderr and "Traceback" not in proc.stderr
    assert runs(data_repo) == []


def wait_until_cacheable(root: Path) -> None:
    """Files changed less than 2 s ago are never cached (their timestamps cannot be trusted yet), and
    their ctime cannot be set back: wait only what is left of those 2 s since the newest change."""
    from gitrun.capture.datasets import RACY_SECONDS

    newest = max(path.stat().st_ctime for path in root.rglob("*"))
    left = newest + RACY_SECONDS + 0.05 - time.time()
    if left > 0:
        time.sleep(left)


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_stat_cache_rereads_only_changed_files_and_a_changed_byte_changes_the_hash(data_repo: Path) -> None:
    root = data_repo / "data" / "imagenet-mini"
    wait_until_cacheable(root)
    debug = {"GITRUN_DEBUG": "1"}
    args = ["--data", "imagenet-mini=data/imagenet-mini", "--", sys.executable, "-c", "pass"]
    first = gitrun(data_repo, *args, env=debug)
    assert "(4 read, 0 from the cache" in first.stderr
    second = gitrun(data_repo, *args, env=debug)
    assert "(0 read, 4 from the cache" in second.stderr  # an untouched tree is not re-read
    # one byte changed in place, same size, and the old mtime put back (as `cp -p`/rsync would)
    target = root / "train" / "cat" / "1.jpg"
    before = target.stat()
    target.write_bytes(b"meow" * 99 + b"meoW")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    third = gitrun(data_repo, *args, env=debug)
    assert "(1 read, 3 from the cache" in third.stderr
    hashes = [run["data"][0]["hash"] for run in reversed(runs(data_repo))]
    assert hashes[0] == hashes[1] != hashes[2]
    assert hashes[2] == folder_hash_by_hand(root)
    ids = [run["id"] for run in runs(data_repo)]
    diff = gitrun(data_repo, "data", "diff", ids[1], ids[0]).stdout
    assert "1 changed, 0 added, 0 removed, 3 unchanged" in diff
    assert "M train/cat/1.jpg" in diff


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_data_ls_and_diff_across_versions(data_repo: Path) -> None:
    root = data_repo / "data" / "imagenet-mini"
    gitrun(data_repo, "--data", "imagenet-mini:v1=data/imagenet-mini", "--", sys.executable, "-c", "pass")
    (root / "train" / "dog" / "1.jpg").write_bytes(b"bark")
    (root / "train" / "dog" / "2.jpg").write_bytes(b"woof2")
    (root / "empty.txt").unlink()
    gitrun(data_repo, "--data", "imagenet-mini:v2=data/imagenet-mini", "--", sys.executable, "-c", "pass")
    gitrun(data_repo, "--data", "imagenet-mini:v2=data/imagenet-mini", "--", sys.executable, "-c", "pass")
    old, mid, new = [run["id"] for run in reversed(runs(data_repo))]

    listed = json.loads(gitrun(data_repo, "data", "ls", "--json").stdout)
    assert [(row["name"], row["version"]) for row in listed] == [("imagenet-mini", "v1"), ("imagenet-mini", "v2")]
    assert [r["id"] for r in listed[0]["runs"]] == [old]
    assert [r["id"] for r in listed[1]["runs"]] == [mid, new]
    assert listed[1]["files"] == 4 and listed[1]["location"] == "ignored"
    text = gitrun(data_repo, "data", "ls").stdout
    assert "imagenet-mini" in text and "v1" in text and "v2" in text and listed[0]["hash"][:19] in text

    diff = json.loads(gitrun(data_repo, "data", "diff", old, new, "--json").stdout)
    [item] = diff["datasets"]
    assert item["status"] == "changed"
    assert item["changed"] == ["train/dog/1.jpg"]
    assert item["added"] == ["train/dog/2.jpg"]
    assert item["removed"] == ["empty.txt"]
    assert item["unchanged_files"] == 2
    text = gitrun(data_repo, "data", "diff", old, new).stdout
    assert "imagenet-mini: v1 -> v2 1 changed, 1 added, 1 removed, 2 unchanged" in text
    assert "D empty.txt" in text and "A train/dog/2.jpg" in text
    assert "unchanged" in gitrun(data_repo, "data", "diff", mid, new).stdout
    proc = gitrun(data_repo, "data", "diff", old, new, "--dataset", "nope", check=False)
    assert proc.returncode == 2 and "no dataset 'nope'" in proc.stderr


CHILD = """
import importlib.metadata, json, os, sys
root = sys.argv[1]
open("data/train.csv").read()                      # ignored, inside the repo: data
open("config.yaml").read()                          # in the snapshot: code, not data
with open(os.path.join(root, "features.bin"), "rb") as f:   # outside the repo: data
    f.read()
for i in range(25):                                 # many files in one folder: one grouped entry
    open(os.path.join(root, "images", f"{i:02d}.png"), "rb").read()
open(os.path.join(root, "written.txt"), "w").write("out")   # written, then read back: an output
open(os.path.join(root, "written.txt")).read()
open(os.path.join(os.path.expanduser("~"), ".cache", "model.bin"), "rb").read()   # a cache
open("/proc/self/status").read()                    # system
open("/etc/hostname").read() if os.path.exists("/etc/hostname") else None
importlib.metadata.version("click")                 # reads METADATA in site-packages
fd = os.open(os.path.join(root, "lowlevel.dat"), os.O_RDONLY); os.close(fd)   # os.open, read-only
open(os.path.join(root, "append.log"), "a").write("x")   # opened for writing: not an input
pid = os.fork()                                     # a forked worker (DataLoader) that leaves by os._exit
if pid == 0:
    open(os.path.join(root, "forked.dat"), "rb").read()
    os._exit(0)
os.waitpid(pid, 0)
print("child done")
"""


def test_detects_files_a_python_child_read_inside_and_outside_the_repo(data_repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "ext"
    (outside / "images").mkdir(parents=True)
    (outside / "features.bin").write_bytes(b"f" * 100)
    for i in range(25):
        (outside / "images" / f"{i:02d}.png").write_bytes(bytes([i]) * 10)
    (outside / "lowlevel.dat").write_bytes(b"low")
    (outside / "forked.dat").write_bytes(b"fork")
    (outside / "append.log").write_bytes(b"")
    cache = Path(os.environ["HOME"]) / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "model.bin").write_bytes(b"weights")
    (data_repo / "data" / "train.csv").write_text("x,y\n1,2\n")
    (data_repo / "config.yaml").write_text("lr: 0.1\n")
    (data_repo / "child.py").write_text(textwrap.dedent(CHILD))
    proc = gitrun(data_repo, "--", sys.executable, "child.py", str(outside))
    assert "child done" in proc.stdout
    run = last_run(data_repo)
    entries = by_path(run)
    assert entries["data/train.csv"]["location"] == "ignored"
    assert entries["data/train.csv"]["declared"] is False
    assert entries["data/train.csv"]["hash"] == b3(b"x,y\n1,2\n")
    assert entries[str(outside / "features.bin")]["location"] == "outside"
    assert entries[str(outside / "lowlevel.dat")]["size"] == 3
    group = entries[str(outside / "images")]
    assert group["files"] == 25 and group["size"] == 250 and group["location"] == "outside"
    assert group["hash"] == folder_hash_by_hand(outside / "images")
    listing = git(data_repo, "show", f"{run['result_commit']}:{group['list']}").splitlines()
    assert len(listing) == 25 and listing[0].startswith("00.png\t10\t")
    # skipped: code in the snapshot, the script itself, outputs, caches, system files, site-packages
    assert set(entries) == {"data/train.csv", str(outside / "features.bin"), str(outside / "lowlevel.dat"),
                            str(outside / "forked.dat"), str(outside / "images")}
    # --no-autolog: no startup hook, nothing detected
    gitrun(data_repo, "--no-autolog", "--", sys.executable, "child.py", str(outside))
    assert "data" not in last_run(data_repo)


def test_declared_data_is_not_reported_again_as_detected(data_repo: Path) -> None:
    (data_repo / "read.py").write_text("import os\nfor d, _, fs in os.walk('data'):\n"
                                       "    [open(os.path.join(d, f), 'rb').read() for f in fs]\n")
    gitrun(data_repo, "--data", "data/imagenet-mini", "--", sys.executable, "read.py")
    entries = run_entries = last_run(data_repo)["data"]
    assert [(e["path"], e["declared"]) for e in run_entries] == [("data/imagenet-mini", True)]
    assert entries[0]["files"] == 4


def test_skip_rules() -> None:
    venv = "/home/ada/venv"
    assert skip_reason("/proc/self/status", [venv]) is not None
    assert skip_reason("/sys/fs/cgroup/cpu.max", [venv]) is not None
    assert skip_reason("/dev/urandom", [venv]) is not None
    assert skip_reason("/etc/ssl/certs/ca.pem", [venv]) is not None
    assert skip_reason("/usr/lib/python3.11/json/__init__.py", [venv]) is not None
    assert skip_reason(f"{venv}/lib/python3.11/site-packages/click/METADATA", [venv]) is not None
    assert skip_reason("/work/repo/pkg/__pycache__/m.cpython-311.pyc", [venv]) is not None
    assert skip_reason("/work/repo/.git/HEAD", [venv]) is not None
    assert skip_reason("/mnt/data/other.py", [venv]) is not None  # code, not data
    assert skip_reason("/home/ada/venv-data/train.csv", [venv]) is None  # a prefix is a folder, not a string
    assert skip_reason("/mnt/data/train.csv", [venv]) is None


def test_grouping_merges_sibling_folders_but_not_at_the_repo_root() -> None:
    files = [f"/r/data/train/{c}/{i}.jpg" for c in ("cat", "dog") for i in range(30)]
    files += ["/r/data/labels.csv", "/r/notes.txt"]
    files += [f"/r/cache/{i}.bin" for i in range(30)]
    groups = group_by_folder(files, 20, stops=["/r"])
    assert sorted(groups) == ["/r/cache", "/r/data/labels.csv", "/r/data/train", "/r/notes.txt"]
    assert len(groups["/r/data/train"]) == 60


def test_dvc_and_lfs_locations(data_repo: Path) -> None:
    (data_repo / "data" / "imagenet-mini.dvc").write_text("outs:\n- md5: 0\n  path: imagenet-mini\n")
    (data_repo / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 3\n"
    (data_repo / "weights.bin").write_text(pointer)
    git(data_repo, "add", ".gitattributes", "weights.bin")
    git(data_repo, "commit", "-q", "-m", "lfs")
    gitrun(data_repo, "--data", "data/imagenet-mini", "--data", "weights.bin", "--", sys.executable, "-c", "pass")
    entries = by_path(last_run(data_repo))
    assert entries["data/imagenet-mini"]["location"] == "dvc"
    assert entries["weights.bin"]["location"] == "lfs"


def test_a_crashed_run_keeps_its_declared_and_detected_data(data_repo: Path, tmp_path: Path) -> None:
    import signal
    import subprocess

    outside = tmp_path / "features.bin"
    outside.write_bytes(b"features")
    pid_file = tmp_path / "child.pid"
    script = (f"import os, time; open({str(outside)!r}, 'rb').read(); "
              f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)")
    recorder = subprocess.Popen([sys.executable, "-m", "gitrun", "-q", "--data", "imagenet-mini=data/imagenet-mini",
                                 "--", sys.executable, "-c", script], cwd=data_repo)
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the child did not start"
            time.sleep(0.05)
        os.kill(recorder.pid, signal.SIGKILL)  # gitrun dies; its spool stays
        recorder.wait()
    finally:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
    assert len(runs(data_repo)) == 1  # any gitrun command finalises the orphan
    shown = last_run(data_repo)
    assert shown["status"] == "crashed"
    entries = by_path(shown)
    assert entries["data/imagenet-mini"]["declared"] is True
    assert entries[str(outside)]["declared"] is False and entries[str(outside)]["hash"] == b3(b"features")
    listing = git(data_repo, "show", f"{shown['result_commit']}:{entries['data/imagenet-mini']['list']}")
    assert len(listing.splitlines()) == 4


def test_folder_summary_and_per_file_cache_agree_with_a_full_hash(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from gitrun.capture import datasets

    monkeypatch.setattr(datasets, "RACY_SECONDS", 0.0)  # trust fresh timestamps: no 2 s wait
    root = tmp_path / "ds"
    make_dataset(root)
    cache_dir = tmp_path / "cache"

    def hashed() -> tuple[str, int, bytes]:
        stats = datasets.HashStats()
        cache = datasets.StatCache.for_dir(cache_dir)
        result = datasets.hash_path(root, cache, stats)
        cache.save()
        return result.hash, stats.files_read, result.file_list()

    first = hashed()
    assert first[0] == folder_hash_by_hand(root) and first[1] == 4
    again = hashed()
    assert again == (first[0], 0, first[2])  # the folder summary: nothing read, same list
    for listing in (cache_dir / "data-lists").iterdir():
        listing.unlink()  # a lost list: the per-file cache still answers
    assert hashed() == (first[0], 0, first[2])
    (root / "train" / "cat" / "2.jpg").write_bytes(b"purr")
    changed = hashed()
    assert changed[1] == 1 and changed[0] == folder_hash_by_hand(root) != first[0]
    (root / "train" / "cat" / "2.jpg").unlink()
    assert hashed()[0] == first[0]
