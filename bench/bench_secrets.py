"""The secret detector: gitrun's against detect-secrets (default plugins), on the tests' corpora.

Both run side by side in one invocation, interleaved round by round, each in its own process:
gitrun from the project's venv, detect-secrets from ``bench/.venv`` (installed there when missing).
Measured: recall on the generated secret corpus (tests/secret_corpus.py: 955 fake secrets of 22
kinds in 8 contexts), false alarms on the clean corpus (ML code, configs, model cards, CA bundles
...), and throughput on ~4 MB of ordinary text (the clean corpus repeated, as files on disk).

    .venv/bin/python bench/bench_secrets.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_VENV, ROOT, machine, remove, stamp, table, write_section

sys.path.insert(0, str(ROOT))
from tests.secret_corpus import clean_samples, secret_samples

THROUGHPUT_BYTES = 4_000_000

# Each scanner gets a manifest (JSON: kind -> files) and prints, per group, the files with a finding
# and the seconds spent.
GITRUN_CODE = """
import json, sys, time
from pathlib import Path
from gitrun.model.secrets import scan
manifest = json.loads(Path(sys.argv[1]).read_text())
out = {}
for group, files in manifest.items():
    start = time.perf_counter()
    hits = [f for f in files if scan(Path(f).read_text(encoding="utf-8", errors="replace"))]
    out[group] = {"hits": len(hits), "files": len(files), "seconds": time.perf_counter() - start}
print(json.dumps(out))
"""

DETECT_SECRETS_CODE = """
import json, sys, time
from pathlib import Path
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings
manifest = json.loads(Path(sys.argv[1]).read_text())
out = {}
with default_settings():
    for group, files in manifest.items():
        start = time.perf_counter()
        hits = 0
        for f in files:
            found = SecretsCollection()
            found.scan_file(f)
            hits += any(True for _ in found)
        out[group] = {"hits": hits, "files": len(files), "seconds": time.perf_counter() - start}
print(json.dumps(out))
"""


def ensure_detect_secrets() -> Path:
    python = BENCH_VENV / "bin" / "python"
    check = subprocess.run([str(python), "-c", "import detect_secrets"], capture_output=True) \
        if python.exists() else None
    if check is None or check.returncode != 0:
        print("installing detect-secrets into bench/.venv ...", file=sys.stderr, flush=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "detect-secrets"], check=True)
    return python


def write_corpus(work: Path) -> Path:
    """The corpora as files (detect-secrets scans files); returns the manifest."""
    manifest: dict[str, list[str]] = {"secrets": [], "clean": [], "throughput": []}
    for index, (_kind, _secret, text) in enumerate(secret_samples()):
        path = work / "secrets" / f"sample{index:04d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        manifest["secrets"].append(str(path))
    clean = list(clean_samples())
    for name, text in clean:
        path = work / "clean" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        manifest["clean"].append(str(path))
    size = sum(len(text) for _, text in clean)
    for copy in range(THROUGHPUT_BYTES // size + 1):
        for name, text in clean:
            path = work / "big" / str(copy) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            manifest["throughput"].append(str(path))
    out = work / "manifest.json"
    out.write_text(json.dumps(manifest))
    return out


def run_json(argv: list[str]) -> dict[str, dict[str, float]]:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed:\n{proc.stderr}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args, _ = parser.parse_known_args()
    python = ensure_detect_secrets()
    version = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('detect-secrets'))"],
                             capture_output=True, text=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="gitrun-bench-secrets-"))
    results: dict[str, list[dict[str, dict[str, float]]]] = {"gitrun": [], "detect-secrets": []}
    try:
        manifest = write_corpus(work)
        total = sum(Path(f).stat().st_size for f in json.loads(manifest.read_text())["throughput"])
        for round_ in range(args.rounds):
            results["gitrun"].append(run_json([sys.executable, "-c", GITRUN_CODE, str(manifest)]))
            results["detect-secrets"].append(run_json([str(python), "-c", DETECT_SECRETS_CODE, str(manifest)]))
            print(f"  round {round_ + 1}/{args.rounds}: " + ", ".join(
                f"{name} {total / items[-1]['throughput']['seconds'] / 1e6:.1f} MB/s"
                for name, items in results.items()), file=sys.stderr, flush=True)
    finally:
        remove(work)

    def mbps(name: str) -> float:
        return statistics.median(total / item["throughput"]["seconds"] / 1e6 for item in results[name])

    rows = []
    for name in results:
        last = results[name][-1]
        rows.append([name, f"{last['secrets']['hits']} of {last['secrets']['files']}",
                     f"{last['clean']['hits']} of {last['clean']['files']}", f"{mbps(name):.2f} MB/s"])
    body = f"""## Secret detection (`bench/bench_secrets.py`)

gitrun's detector (`gitrun/model/secrets.py`) against detect-secrets {version} with its default
plugins, on the corpora the tests generate (`tests/secret_corpus.py`), side by side, {args.rounds}
interleaved rounds, each scanner in its own process. Recall: samples of the secret corpus with a
finding (one fake secret each). False alarms: files of the clean corpus with a finding (ML code,
configs, model card, CA bundle, public keys, `*.key` files, hashes, notebook, logs). Throughput:
{total / 1e6:.1f} MB of those clean files on disk, read and scanned, median.

{table(["scanner", "secrets found", "clean files alarmed", "throughput"], rows)}

Throughput ratio gitrun / detect-secrets: **{mbps("gitrun") / mbps("detect-secrets"):.1f}x**.
Rerun: `.venv/bin/python bench/bench_secrets.py`. {machine()}; {stamp()}.
"""
    write_section("secrets", body)


if __name__ == "__main__":
    main()
