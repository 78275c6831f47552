"""The drop-in APIs: a typical W&B script and a typical MLflow script, switched to gitrun by their
import line alone, record ordinary gitrun runs (params, metric series with steps, tags, summary,
artifacts), run in this process like a user's script (``python train.py``).
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitrun.errors import Unsupported
from tests.conftest import git, gitrun


@pytest.fixture
def in_repo(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The script's working directory is the repository; the startup hooks (argparse, environment
    and file-read tracing) stay out of the test process, as ``git run --no-autolog`` would keep them."""
    monkeypatch.chdir(repo)
    monkeypatch.setenv("GITRUN_NO_AUTOLOG", "1")
    monkeypatch.setattr(sys, "argv", ["train.py"])
    yield repo
    from gitrun import api

    if api._current is not None and api._current._local is not None:
        api._current.finish()  # a failing test must not leave its run to the next one
    api._current = None


def run_script(repo: Path, text: str) -> dict[str, Any]:
    """Execute ``text`` as ``train.py`` in this process; return the one run it recorded (its note)."""
    path = repo / "train.py"
    path.write_text(textwrap.dedent(text))
    exec(compile(path.read_text(), str(path), "exec"), {"__name__": "__main__", "__file__": str(path)})
    listed = json.loads(gitrun(repo, "list", "--json").stdout)
    assert len(listed) == 1, listed
    return dict(json.loads(gitrun(repo, "show", listed[0]["id"], "--json").stdout))


def series(repo: Path, run_id: str, name: str) -> list[tuple[int | None, float]]:
    text = git(repo, "show", f"refs/experiments/{run_id}:metrics/{name}.tsv")
    points = []
    for line in text.splitlines()[1:]:
        step, _, value = line.split("\t")
        points.append((int(step) if step else None, float(value)))
    return points


def output(repo: Path, run: dict[str, Any], path: str) -> str:
    entry = next(item for item in run["outputs"] if item["path"] == path)
    assert entry["stored"] is True
    return git(repo, "show", f"refs/experiments/{run['id']}:outputs/{path}")


WANDB_SCRIPT = """\
    import gitrun.wandb as wandb   # was: import wandb

    run = wandb.init(project="mnist", name="baseline lr=0.1", notes="first try", tags=["cnn", "small data"],
                     config={"lr": 0.1, "model": {"depth": 4}})
    wandb.config.update({"batch_size": 32})
    wandb.config.epochs = 3
    assert wandb.config.lr == 0.1 and wandb.config["batch_size"] == 32
    wandb.define_metric("val/*", step_metric="epoch")
    for epoch in range(3):
        for batch in range(4):
            wandb.log({"train/loss": 1.0 / (1 + epoch * 4 + batch)})
        wandb.log({"val/acc": 0.5 + epoch / 10, "epoch": epoch}, commit=False)
        wandb.log({"lr": 0.1 / (epoch + 1)}, step=100 + epoch)
    run.summary["best_acc"] = 0.7
    wandb.summary.update({"verdict": "good", "train/loss": 0.01})
    with open("model.pt", "w") as handle:
        handle.write("weights")
    import os
    os.makedirs("plots", exist_ok=True)
    open("plots/curve.csv", "w").write("x,y\\n1,2\\n")
    artifact = wandb.Artifact("model", type="model", metadata={"acc": 0.7})
    artifact.add_file("model.pt")
    artifact.add_dir("plots", name="plots")
    run.log_artifact(artifact, aliases=["best"])
    print("run", run.id, run.name)
    wandb.finish()
"""


def test_a_wandb_script_records_a_gitrun_run(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = run_script(in_repo, WANDB_SCRIPT)
    assert run["status"] == "succeeded" and run["launched_by"] == "gitrun.wandb"
    assert run["name"] == "baseline-lr-0.1" and run["message"] == "first try"
    assert f"run {run['id']} baseline-lr-0.1" in capsys.readouterr().out  # run.id/run.name are gitrun's
    assert run["tags"] == ["cnn", "project:mnist", "small-data"]
    assert run["labels"] == {"project": "mnist"}
    assert run["params"] == {"lr": 0.1, "model.depth": 4, "batch_size": 32, "epochs": 3}
    # W&B's step counter: each log() is a step; commit=False stays on it; step= jumps.
    assert series(in_repo, run["id"], "train/loss")[:5] == [(0, 1.0), (1, 0.5), (2, 1 / 3), (3, 0.25), (100, 0.2)]
    assert [step for step, _ in series(in_repo, run["id"], "lr")] == [100, 101, 102]
    assert series(in_repo, run["id"], "val/acc") == [(0, 0.5), (1, 0.6), (2, 0.7)]  # define_metric's step_metric
    assert run["final"] == {"best_acc": 0.7, "verdict": "good", "train/loss": 0.01}
    assert run["metrics"]["best_acc"] == 0.7 and run["metrics"]["train/loss"] == 0.01  # summary wins
    assert output(in_repo, run, "model/model.pt") == "weights"
    assert output(in_repo, run, "model/plots/curve.csv") == "x,y\n1,2\n"
    manifest = json.loads(output(in_repo, run, "model/wandb-artifact.json"))
    assert manifest["type"] == "model" and manifest["metadata"] == {"acc": 0.7} and manifest["aliases"] == ["best"]


MLFLOW_SCRIPT = """\
    import gitrun.mlflow as mlflow   # was: import mlflow

    mlflow.set_experiment("churn")
    with mlflow.start_run(run_name="gbm", tags={"team": "growth"}, description="a baseline") as active:
        mlflow.log_param("max_depth", 6)
        mlflow.log_params({"lr": 0.05, "loss": "logloss"})
        mlflow.set_tag("stage", "dev")
        mlflow.set_tags({"owner": "ada lovelace"})
        for step in range(5):
            mlflow.log_metric("auc", 0.7 + step / 100, step=step)
            mlflow.log_metrics({"loss": 1.0 / (step + 1), "lr": 0.05}, step=step * 10)
        open("report.txt", "w").write("all good")
        mlflow.log_artifact("report.txt", artifact_path="reports")
        mlflow.log_dict({"features": ["a", "b"]}, "meta/features.json")
        assert mlflow.active_run().info.run_id == active.info.run_id
    assert mlflow.active_run() is None
"""


def test_an_mlflow_script_records_a_gitrun_run(in_repo: Path) -> None:
    run = run_script(in_repo, MLFLOW_SCRIPT)
    assert run["status"] == "succeeded" and run["launched_by"] == "gitrun.mlflow"
    assert run["name"] == "gbm" and run["message"] == "a baseline"
    assert run["tags"] == ["experiment:churn"]
    assert run["labels"] == {"team": "growth", "experiment": "churn", "stage": "dev", "owner": "ada lovelace"}
    assert run["params"] == {"max_depth": 6, "lr": 0.05, "loss": "logloss"}
    assert series(in_repo, run["id"], "auc") == [(step, 0.7 + step / 100) for step in range(5)]
    assert [step for step, _ in series(in_repo, run["id"], "loss")] == [0, 10, 20, 30, 40]
    assert run["metrics"]["loss"] == 0.2
    assert output(in_repo, run, "reports/report.txt") == "all good"
    assert json.loads(output(in_repo, run, "meta/features.json")) == {"features": ["a", "b"]}


def test_an_exception_in_the_mlflow_block_fails_the_run(in_repo: Path) -> None:
    with pytest.raises(RuntimeError, match="diverged"):
        run_script(in_repo, """\
            import gitrun.mlflow as mlflow
            with mlflow.start_run():
                mlflow.log_metric("loss", float("nan"), step=1)
                raise RuntimeError("diverged")
        """)
    [listed] = json.loads(gitrun(in_repo, "list", "--json").stdout)
    run = json.loads(gitrun(in_repo, "show", listed["id"], "--json").stdout)
    assert run["status"] == "failed" and run["exit_code"] == 1


def test_wandb_finish_with_an_exit_code_fails_the_run_and_init_starts_the_next(in_repo: Path) -> None:
    import gitrun.wandb as wandb

    first = wandb.init(config={"trial": 1})
    wandb.log({"loss": 1.0})
    first.finish(exit_code=3)
    second = wandb.init(config={"trial": 2})  # a new run, not the finished one
    wandb.log({"loss": 0.5})
    wandb.init(config={"trial": 3})  # finishes the second (W&B's reinit in notebooks)
    wandb.finish()
    assert wandb.run is None
    docs = {run["id"]: json.loads(gitrun(in_repo, "show", run["id"], "--json").stdout)
            for run in json.loads(gitrun(in_repo, "list", "--json").stdout)}
    assert len(docs) == 3
    assert docs[first.id]["status"] == "failed" and docs[first.id]["exit_code"] == 3
    assert docs[second.id]["status"] == "succeeded" and docs[second.id]["params"] == {"trial": 2}
    assert docs[second.id]["metrics"] == {"loss": 0.5}


def test_gitrun_run_blocks_make_one_run_each(in_repo: Path) -> None:
    import gitrun as gitrun_api

    for lr in (0.1, 0.01):
        with gitrun_api.run(params={"lr": lr}, tags=["sweep"]):
            gitrun_api.log(step=0, loss=lr * 10)
    with pytest.raises(ValueError), gitrun_api.run(params={"lr": 1.0}):
        raise ValueError("bad lr")
    gitrun_api.log(loss=1.0)  # no run after the blocks: a warning, not a write to a finished run
    runs = json.loads(gitrun(in_repo, "list", "--json").stdout)
    docs = [json.loads(gitrun(in_repo, "show", run["id"], "--json").stdout) for run in reversed(runs)]
    assert [(doc["params"]["lr"], doc["status"]) for doc in docs] == [
        (0.1, "succeeded"), (0.01, "succeeded"), (1.0, "failed")]
    assert [doc.get("metrics", {}).get("loss") for doc in docs] == [1.0, 0.1, None]
    assert docs[2]["error"] == "ValueError: bad lr"


def test_unsupported_calls_say_so_in_one_line(in_repo: Path) -> None:
    import gitrun.mlflow as mlflow
    import gitrun.wandb as wandb

    with pytest.raises(Unsupported, match="autolog is not supported"):
        mlflow.autolog()
    with pytest.raises(Unsupported, match=r"mlflow\.pytorch\.log_model is not supported"):
        mlflow.pytorch.log_model(object(), "model")
    with pytest.raises(Unsupported, match=r"wandb\.Image is not supported"):
        wandb.Image("x.png")
    with pytest.raises(Unsupported, match=r"before wandb\.init"):
        wandb.log({"loss": 1})
    with pytest.raises(Unsupported, match="resuming"):
        wandb.init(resume="must")
    assert json.loads(gitrun(in_repo, "list", "--json").stdout) == []  # nothing half-recorded


def test_disabled_mode_records_nothing(in_repo: Path) -> None:
    import gitrun.wandb as wandb

    run = wandb.init(mode="disabled", config={"lr": 1})
    wandb.log({"loss": 1.0})
    run.finish()
    assert json.loads(gitrun(in_repo, "list", "--json").stdout) == []


def test_the_dropins_do_not_shadow_the_real_packages() -> None:
    """``import wandb`` in a module of gitrun's (or a user's script next to it) is never ours."""
    import gitrun.integrations.mlflow
    import gitrun.integrations.wandb
    import gitrun.mlflow
    import gitrun.wandb

    package = str(Path(gitrun.integrations.wandb.__file__).parent.parent)
    for name in ("wandb", "mlflow"):
        module = sys.modules.get(name)
        assert module is None or not str(getattr(module, "__file__", "")).startswith(package)
    assert gitrun.wandb.init is gitrun.integrations.wandb.init and gitrun.wandb.run is None



def test_inside_git_run_the_dropins_log_to_the_recorded_run(repo: Path) -> None:
    """``git run -- python train.py`` of a W&B or MLflow script: one run, the command's, with what they logged."""
    (repo / "train.py").write_text(textwrap.dedent("""\
        import gitrun.mlflow as mlflow
        import gitrun.wandb as wandb

        run = wandb.init(project="p", config={"lr": 0.1})
        wandb.log({"loss": 0.5})
        run.summary["best"] = 1.0
        wandb.finish()
        with mlflow.start_run():
            mlflow.log_metric("auc", 0.9, step=3)
            mlflow.set_tag("team", "growth")
        print("done")
    """))
    result = gitrun(repo, "-q", "--", sys.executable, "train.py")
    assert result.stdout == "done\n", result.stderr
    [listed] = json.loads(gitrun(repo, "list", "--json").stdout)
    run = json.loads(gitrun(repo, "show", listed["id"], "--json").stdout)
    assert run["status"] == "succeeded" and "launched_by" not in run  # the command's run, not a new one
    assert run["params"]["lr"] == 0.1 and run["tags"] == ["project:p"]
    assert run["metrics"]["loss"] == 0.5 and run["metrics"]["auc"] == 0.9 and run["final"] == {"best": 1.0}
    assert run["labels"] == {"project": "p", "team": "growth"}
