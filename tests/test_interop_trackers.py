"""Round trips with the real trackers: MLflow, DVC, W&B (offline) and TensorBoard (slow; `make install-extras`).

Every parameter and every metric point (step, time, value) must survive import and export.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git, gitrun, gitrun_in_process, user_state

pytestmark = pytest.mark.slow


def _run_json(repo: Path, run: str) -> dict[str, Any]:
    return json.loads(gitrun_in_process(repo, "show", run, "--json").stdout)  # type: ignore[no-any-return]


def _points(repo: Path, run: str) -> dict[str, list[tuple[int, float, float]]]:
    series: dict[str, list[tuple[int, float, float]]] = {}
    for row in json.loads(gitrun_in_process(repo, "metrics", run, "--json", "--all").stdout):
        series.setdefault(row["name"], []).append((row["step"], round(row["time"], 3), row["value"]))
    return series


def _imported(repo: Path, origin: str) -> dict[str, Any]:
    rows = json.loads(gitrun_in_process(repo, "list", "--json", "--all-branches").stdout)
    matches = [row for row in rows if _run_json(repo, row["id"]).get("imported_from") == origin]
    assert len(matches) == 1, f"{origin}: {len(matches)} runs"
    return _run_json(repo, matches[0]["id"])


# --- MLflow -------------------------------------------------------------------------------------------


def test_mlflow_runs_import_and_export_with_every_point(repo: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mlflow")
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = tmp_path / "mlruns"
    client = MlflowClient(tracking_uri=store.as_uri())
    experiment = client.create_experiment("vision")
    head = git(repo, "rev-parse", "HEAD").strip()
    t0 = 1_793_523_600_000
    logged: dict[str, list[tuple[int, int, float]]] = {
        "loss": [(step, t0 + 10 * step, 1 / (step + 1)) for step in range(300)] + [(299, t0 + 5000, 0.001)],
        "val/acc": [(step * 10, t0 + 100 * step, step / 30) for step in range(30)],
    }
    params = {"lr": "0.001", "batch": "64", "optimizer": "adam", "schedule": "1e-3"}
    a = client.create_run(experiment, start_time=t0, run_name="resnet base",
                          tags={"mlflow.source.git.commit": head, "team": "vision", "mlflow.user": "ada"})
    client.log_batch(a.info.run_id, params=[Param(k, v) for k, v in params.items()],
                     tags=[RunTag("mlflow.note.content", "the baseline")])
    client.log_batch(a.info.run_id, metrics=[Metric(name, value, when, step) for name, points in logged.items()
                                             for step, when, value in points])
    artifacts = tmp_path / "artifacts"
    (artifacts / "model").mkdir(parents=True)
    (artifacts / "model" / "config.json").write_text('{"depth": 3}')
    (artifacts / "weights.bin").write_bytes(b"\0" * (2 << 20))  # over the 1 MiB store limit
    client.log_artifacts(a.info.run_id, str(artifacts))
    client.set_terminated(a.info.run_id, "FINISHED", end_time=t0 + 60_000)
    b = client.create_run(experiment, start_time=t0 + 1000, run_name="broken")
    client.log_metric(b.info.run_id, "loss", float("nan"), timestamp=t0 + 1500, step=0)
    client.set_terminated(b.info.run_id, "FAILED", end_time=t0 + 2000)
    client.create_run(experiment, start_time=t0 + 3000, run_name="still-going")  # RUNNING: left out

    before = user_state(repo)
    proc = gitrun_in_process(repo, "import", "mlflow", str(store))
    assert proc.returncode == 0, proc.stderr
    assert "is running: left out" in proc.stderr and "imported 2 run(s) from mlflow" in proc.stderr
    assert user_state(repo) == before

    run_a = _imported(repo, f"mlflow:{a.info.run_id}")
    assert run_a["name"] == "resnet-base" and run_a["imported"]["name"] == "resnet base"
    assert run_a["params"] == {"lr": 0.001, "batch": 64, "optimizer": "adam", "schedule": "1e-3"}
    assert run_a["status"] == "succeeded" and run_a["message"] == "the baseline" and run_a["user"] == "ada"
    assert run_a["started"] == "2026-11-01T09:00:00.000Z" and run_a["duration_s"] == 60.0
    assert run_a["imported"]["tags"] == {"team": "vision"} and run_a["git"]["base_commit"] == head
    expected = {name: [(step, round(when / 1000, 3), value) for step, when, value in points]
                for name, points in logged.items()}
    assert _points(repo, run_a["id"]) == expected
    outputs = {entry["path"]: entry for entry in run_a["outputs"]}
    assert outputs["model/config.json"]["stored"] and outputs["model/config.json"]["size"] == 12
    assert not outputs["weights.bin"]["stored"] and outputs["weights.bin"]["size"] == 2 << 20
    assert "left in" in outputs["weights.bin"]["not_stored"]
    out_dir = tmp_path / "restored"
    gitrun_in_process(repo, "checkout-output", run_a["id"], "model", "--to", str(out_dir))
    assert (out_dir / "model" / "config.json").read_text() == '{"depth": 3}'
    run_b = _imported(repo, f"mlflow:{b.info.run_id}")
    assert run_b["status"] == "failed" and "not known" in run_b["missing"]["code"]

    again = gitrun_in_process(repo, "import", "mlflow", str(store))
    assert "imported 0 run(s) from mlflow; 2 imported before" in again.stderr
    assert len(git(repo, "for-each-ref", "refs/experiments").splitlines()) == 2

    # A run recorded by gitrun, and the imported one, exported to a SQLite store and read back.
    gitrun(repo, "--name", "native", "--", sys.executable, "-c",
           "import gitrun\ngitrun.log_params({'depth': 3, 'model': {'kind': 'mlp'}})\n"
           "for i in range(50): gitrun.log(step=i, loss=1 / (i + 1), acc=i / 50)")
    target = tmp_path / "export.db"
    out = gitrun_in_process(repo, "export", "mlflow", "native", run_a["id"], "--to", str(target), "--experiment", "e")
    assert out.returncode == 0, out.stderr
    reader = MlflowClient(tracking_uri=f"sqlite:///{target}")
    exported = {run.data.tags["gitrun.run_id"]: run for run in
                reader.search_runs([reader.get_experiment_by_name("e").experiment_id])}
    native = _run_json(repo, "native")
    for source in (native, run_a):
        written = exported[source["id"]]
        assert written.data.params == {key: str(value) for key, value in source["params"].items()}
        assert written.info.status == "FINISHED" and written.info.run_name == source["name"]
        for name, points in _points(repo, source["id"]).items():
            history = reader.get_metric_history(written.info.run_id, name)
            assert [(m.step, m.timestamp, m.value) for m in history] == \
                [(step, round(when * 1000), value) for step, when, value in points], name
    assert exported[run_a["id"]].data.tags["mlflow.source.git.commit"] == run_a["commit"]
    artifact = reader.download_artifacts(exported[run_a["id"]].info.run_id, "model/config.json", str(tmp_path))
    assert Path(artifact).read_text() == '{"depth": 3}'  # stored outputs travel as artifacts
    again_out = gitrun_in_process(repo, "export", "mlflow", "native", "--to", str(target), "--experiment", "e")
    assert "exported 0 run(s)" in again_out.stderr
    assert len(reader.search_runs([reader.get_experiment_by_name("e").experiment_id])) == 2


# --- DVC ----------------------------------------------------------------------------------------------

TRAIN = """\
import json, os
import yaml
params = yaml.safe_load(open("params.yaml"))
os.makedirs("dvclive/plots/metrics/train", exist_ok=True)
loss, rows = 1.0, []
for step in range(4):
    loss *= 1 - params["lr"]
    rows.append(f"{1793523600000 + step}\\t{step}\\t{loss}")
with open("dvclive/plots/metrics/train/loss.tsv", "w") as handle:
    handle.write("timestamp\\tstep\\tloss\\n" + "\\n".join(rows) + "\\n")
json.dump({"loss": loss, "eval": {"acc": 1 - loss}}, open("metrics.json", "w"))
"""

PIPELINE = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [lr, model.layers]
    metrics:
      - metrics.json:
          cache: false
    plots:
      - dvclive/plots/metrics:
          cache: false
"""


def test_dvc_experiments_import_with_their_commits_params_and_series(tmp_path: Path) -> None:
    pytest.importorskip("dvc")
    repo = tmp_path / "dvcrepo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    dvc = [sys.executable, "-m", "dvc"]
    subprocess.run([*dvc, "init", "-q"], cwd=repo, check=True)
    (repo / "train.py").write_text(TRAIN)
    (repo / "params.yaml").write_text("lr: 0.1\nmodel:\n  layers: 2\n")
    (repo / "dvc.yaml").write_text(PIPELINE)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    baseline = git(repo, "rev-parse", "HEAD").strip()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for lr, name in (("0.2", "fast"), ("0.5", "faster")):
        subprocess.run([*dvc, "exp", "run", "-q", "-S", f"lr={lr}", "-n", name], cwd=repo, check=True, env=env,
                       capture_output=True)
    exps = dict(line.split()[::-1] for line in git(repo, "for-each-ref", "--format=%(objectname) %(refname)",
                                                   "refs/exps").splitlines() if "/exec/" not in line)
    proc = gitrun_in_process(repo, "import", "dvc")
    assert proc.returncode == 0, proc.stderr
    assert "imported 2 run(s) from dvc" in proc.stderr
    for lr, name in ((0.2, "fast"), (0.5, "faster")):
        commit = next(sha for ref, sha in exps.items() if ref.endswith("/" + name))
        run = _imported(repo, f"dvc:{commit}")
        assert run["name"] == name and run["params"] == {"lr": lr, "model.layers": 2}
        assert git(repo, "rev-parse", f"{run['commit']}^{{tree}}") == git(repo, "rev-parse", f"{commit}^{{tree}}")
        assert git(repo, "rev-parse", f"{run['commit']}^").strip() == baseline
        loss = [(step, 1793523600.0 + step / 1000, (1 - lr) ** (step + 1)) for step in range(4)]
        points = _points(repo, run["id"])
        assert [(s, t) for s, t, _ in points["train/loss"]] == [(s, round(t, 3)) for s, t, _ in loss]
        assert points["train/loss"][-1][2] == pytest.approx(loss[-1][2])
        assert run["metrics"]["eval/acc"] == pytest.approx(1 - loss[-1][2])
    again = gitrun_in_process(repo, "import", "dvc")
    assert "imported 0 run(s) from dvc; 2 imported before" in again.stderr


# --- W&B ----------------------------------------------------------------------------------------------

WANDB_SCRIPT = """\
import wandb
run = wandb.init(project="proj", name="offline one", config={"lr": 0.01, "model": {"layers": 3}},
                 tags=["baseline"], notes="tried offline")
for step in range(40):
    run.log({"loss": 1 / (step + 1), "acc": step / 40})
run.log({"val/loss": 0.25}, step=100)
print("printed by the script")
run.summary["best_acc"] = 0.975
with open(run.dir + "/model.txt", "w") as handle:  # run.dir is the run's files/ folder
    handle.write("trained weights")
run.finish()
"""


def test_wandb_offline_run_imports_with_every_point(repo: Path, tmp_path: Path) -> None:
    pytest.importorskip("wandb")
    work = tmp_path / "wandbwork"
    work.mkdir()
    (work / "script.py").write_text(WANDB_SCRIPT)
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(work)}
    subprocess.run([sys.executable, "script.py"], cwd=work, env=env, check=True, capture_output=True, timeout=300)
    run_folder = next((work / "wandb").glob("offline-run-*"))
    proc = gitrun_in_process(repo, "import", "wandb", str(work / "wandb"))
    assert proc.returncode == 0, proc.stderr
    run_id = run_folder.name.rsplit("-", 1)[-1]
    run = _imported(repo, f"wandb:{run_id}")
    assert run["name"] == "offline-one" and run["params"] == {"lr": 0.01, "model.layers": 3}
    assert run["tags"] == ["baseline"] and run["message"] == "tried offline" and run["status"] == "succeeded"
    points = _points(repo, run["id"])
    assert [(s, v) for s, _, v in points["loss"]] == [(step, 1 / (step + 1)) for step in range(40)]
    assert [(s, v) for s, _, v in points["acc"]] == [(step, step / 40) for step in range(40)]
    assert [(s, v) for s, _, v in points["val/loss"]] == [(100, 0.25)]
    assert run["metrics"]["best_acc"] == 0.975
    assert "printed by the script" in gitrun_in_process(repo, "show", run["id"], "--log").stdout
    outputs = {entry["path"]: entry for entry in run["outputs"]}
    assert outputs["model.txt"]["stored"] and outputs["model.txt"]["size"] == len("trained weights")
    assert any(package["name"] == "wandb" for package in run["env"]["packages"])
    again = gitrun_in_process(repo, "import", "wandb", str(run_folder))
    assert "imported 0 run(s) from wandb; 1 imported before" in again.stderr


# --- TensorBoard --------------------------------------------------------------------------------------


def test_tensorboard_export_opens_in_tensorboards_event_accumulator(repo: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    script = textwrap.dedent("""\
        import gitrun
        for i in range(200):
            gitrun.log(step=i, **{"train/loss": 1 / (i + 1), "lr": 0.1 * 0.99 ** i})
    """)
    gitrun(repo, "--name", "tb", "--", sys.executable, "-c", script)
    out = tmp_path / "logs"
    gitrun_in_process(repo, "export", "tensorboard", "tb", str(out))
    folder = next(out.iterdir())
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    accumulator.Reload()
    stored = _points(repo, "tb")
    assert set(accumulator.Tags()["scalars"]) >= {"train/loss", "lr"}
    for name in ("train/loss", "lr"):
        events = accumulator.Scalars(name)
        assert [(e.step, round(e.wall_time, 3)) for e in events] == [(s, t) for s, t, _ in stored[name]]
        assert [e.value for e in events] == pytest.approx([v for _, _, v in stored[name]], rel=1e-6)
