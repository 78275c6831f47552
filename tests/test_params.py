"""Parameters recorded without code changes: command line, parameter files, argparse, click."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gitrun.capture.params import coerce, params_from_argv
from tests.conftest import gitrun

PY = sys.executable


def last_run(repo: Path) -> dict[str, Any]:
    runs = json.loads(gitrun(repo, "list", "--json").stdout)
    return dict(json.loads(gitrun(repo, "show", runs[0]["id"], "--json").stdout))


def write(repo: Path, name: str, text: str) -> Path:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(("text", "value"), [
    ("0.01", 0.01), ("3", 3), ("-2", -2), ("3e-4", 3e-4), ("true", True), ("False", False),
    ("adam", "adam"), ("[1,2,3]", [1, 2, 3]), ("[a, b]", ["a", "b"]), ("1,2", [1, 2]), ("007", "007"),
    ("nan", "nan"), ("a,b", "a,b"),
])
def test_values_are_typed_where_obvious(text: str, value: Any) -> None:
    assert coerce(text) == value
    assert type(coerce(text)) is type(value)


def test_command_line_forms() -> None:
    argv = ["python", "-u", "train.py", "data.csv", "--lr", "0.01", "--epochs=3", "-n", "5", "--verbose",
            "optimizer.lr=0.1", "+model=resnet", "++trainer/devices=2", "--layers", "64", "128",
            "--warmup", "-0.5", "--batch-size", "32", "--", "--ignored", "1"]
    assert params_from_argv(argv) == {
        "lr": 0.01, "epochs": 3, "n": 5, "verbose": True, "optimizer.lr": 0.1, "model": "resnet",
        "trainer.devices": 2, "layers": [64, 128], "warmup": -0.5, "batch_size": 32,
    }
    # Interpreter options and the module name are not parameters.
    assert params_from_argv(["python3", "-X", "dev", "-m", "pkg.train", "--lr", "1"]) == {"lr": 1}
    assert params_from_argv(["torchrun", "--nproc_per_node", "2", "train.py", "--lr", "3e-4"]) == {"lr": 3e-4}


def test_plain_shell_command_and_hydra_overrides(repo: Path) -> None:
    write(repo, "train.sh", "#!/bin/sh\necho \"training with $*\"\n").chmod(0o755)
    gitrun(repo, "-q", "--", "./train.sh", "--lr", "0.01", "--epochs=3", "-n", "5", "--fast",
           "optimizer.momentum=0.9", "model.layers=[64,128]", "+run.name=baseline")
    run = last_run(repo)
    assert run["params"] == {"lr": 0.01, "epochs": 3, "n": 5, "fast": True, "optimizer.momentum": 0.9,
                             "model.layers": [64, 128], "run.name": "baseline"}
    assert set(run["params_source"].values()) == {"argv"}


ARGPARSE_SCRIPT = textwrap.dedent("""
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--resume", default=None)
    sub = parser.add_subparsers(dest="mode")
    fit = sub.add_parser("fit")
    fit.add_argument("--patience", type=int, default=3)
    args = parser.parse_args()
    print("parsed", vars(args))
""")


def test_argparse_values_with_defaults_and_unchanged_output(repo: Path) -> None:
    write(repo, "train.py", ARGPARSE_SCRIPT)
    direct = subprocess.run([PY, "train.py", "--lr", "0.5", "fit"], cwd=repo, capture_output=True, text=True)
    recorded = gitrun(repo, "-q", "--", PY, "train.py", "--lr", "0.5", "fit")
    assert recorded.stdout == direct.stdout
    assert recorded.stderr == direct.stderr == ""
    run = last_run(repo)
    assert run["params"] == {"lr": 0.5, "epochs": 10, "optimizer": "sgd", "amp": False, "mode": "fit",
                             "patience": 3}
    assert run["params_source"]["epochs"] == "argparse"
    assert run["params_source"]["lr"] == "argparse"


def test_argparse_error_and_help_still_behave(repo: Path) -> None:
    write(repo, "train.py", ARGPARSE_SCRIPT)
    direct = subprocess.run([PY, "train.py", "--epochs", "x"], cwd=repo, capture_output=True, text=True)
    recorded = gitrun(repo, "-q", "--", PY, "train.py", "--epochs", "x", check=False)
    assert recorded.returncode == direct.returncode == 2
    assert recorded.stderr == direct.stderr


def test_click_values(repo: Path) -> None:
    write(repo, "cli.py", """
        import click

        @click.command()
        @click.option("--lr", type=float, default=0.1)
        @click.option("--layer", "layers", multiple=True, type=int)
        @click.option("--amp/--no-amp", default=True)
        @click.argument("dataset")
        def main(lr, layers, amp, dataset):
            click.echo(f"lr {lr} layers {list(layers)} amp {amp} on {dataset}")

        main()
    """)
    result = gitrun(repo, "-q", "--", PY, "cli.py", "--layer", "64", "--layer", "32", "mnist")
    assert result.stdout == "lr 0.1 layers [64, 32] amp True on mnist\n"
    run = last_run(repo)
    assert run["params"] == {"lr": 0.1, "layers": [64, 32], "amp": True, "dataset": "mnist"}
    assert run["params_source"]["dataset"] == "click"


def test_parameter_files_given_and_named_on_the_command_line(repo: Path) -> None:
    write(repo, "params.yaml", "optimizer:\n  lr: 0.01\n  betas: [0.9, 0.99]\nmodel: resnet\nnote: null\n")
    write(repo, "conf/config.json", json.dumps({"data": {"batch": 32, "shuffle": True}}))
    write(repo, "extra.toml", "[trainer]\nmax_epochs = 5\n")
    write(repo, "train.py", "import sys\nprint(sys.argv[1:])\n")
    gitrun(repo, "-q", "--params", "params.yaml", "--params", "extra.toml", "--",
           PY, "train.py", "--config", "conf/config.json")
    run = last_run(repo)
    assert run["params"]["optimizer.lr"] == 0.01
    assert run["params"]["optimizer.betas"] == [0.9, 0.99]
    assert run["params"]["model"] == "resnet"
    assert "note" not in run["params"]  # null: nothing to record
    assert run["params"]["trainer.max_epochs"] == 5
    assert run["params"]["data.batch"] == 32
    assert run["params"]["config"] == "conf/config.json"
    assert run["params_source"]["optimizer.lr"] == "file:params.yaml"
    assert run["params_source"]["data.shuffle"] == "file:conf/config.json"
    assert run["params_source"]["config"] == "argv"


def test_missing_params_file_warns_and_runs(repo: Path) -> None:
    result = gitrun(repo, "--params", "nope.yaml", "--", "true")
    assert "nope.yaml" in result.stderr
    assert last_run(repo)["status"] == "succeeded"


def test_no_autolog_leaves_the_interpreter_alone(repo: Path) -> None:
    write(repo, "train.py", ARGPARSE_SCRIPT + "\nimport os, sys\nprint(os.environ.get('PYTHONPATH'), sys.path[1:])\n")
    direct = subprocess.run([PY, "train.py"], cwd=repo, capture_output=True, text=True)
    plain = gitrun(repo, "-q", "--no-autolog", "--", PY, "train.py")
    assert plain.stdout == direct.stdout
    assert "argparse" not in last_run(repo).get("params_source", {}).values()
    hooked = gitrun(repo, "-q", "--", PY, "train.py")
    # With the hook, sys.path is what it would be without gitrun (the hook takes itself off again).
    assert hooked.stdout.splitlines()[0] == direct.stdout.splitlines()[0]
    assert hooked.stdout.splitlines()[1].split(" ", 1)[1] == direct.stdout.splitlines()[1].split(" ", 1)[1]


def test_existing_sitecustomize_still_runs(repo: Path, tmp_path: Path) -> None:
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "sitecustomize.py").write_text("import builtins\nbuiltins.CUSTOMIZED = 'yes'\n")
    write(repo, "train.py", ARGPARSE_SCRIPT + "\nprint('customized', CUSTOMIZED)\n")
    result = gitrun(repo, "-q", "--", PY, "train.py", env={"PYTHONPATH": str(custom)})
    assert "customized yes" in result.stdout
    assert last_run(repo)["params_source"]["lr"] == "argparse"


def test_parameter_files_the_script_reads(repo: Path) -> None:
    write(repo, "conf/model.yaml", "depth: 18\nwidth: 64\n")
    write(repo, "labels.json", json.dumps({"cat": 0, "dog": 1}))  # data, not configuration
    write(repo, "train.py", """
        import json, yaml
        config = yaml.safe_load(open("conf/model.yaml"))
        labels = json.load(open("labels.json"))
        json.dump({"made": 1}, open("run_config.json", "w"))
        json.load(open("run_config.json"))  # written by the run itself: an output
        print(config["depth"], len(labels))
    """)
    gitrun(repo, "-q", "--", PY, "train.py")
    run = last_run(repo)
    assert run["params"] == {"depth": 18, "width": 64}
    assert run["params_source"] == {"depth": "file:conf/model.yaml", "width": "file:conf/model.yaml"}


def test_only_the_main_programs_parser_counts(repo: Path) -> None:
    """A launcher's options and a tool the script runs do not replace the script's own values."""
    write(repo, "tool.py", """
        import argparse
        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", default="tool-value")
        parser.add_argument("--verbose", action="store_true")
        parser.parse_args()
    """)
    write(repo, "train.py", ARGPARSE_SCRIPT + "\nimport subprocess, sys\n"
          "subprocess.run([sys.executable, 'tool.py', '--verbose'], check=True)\n")
    write(repo, "launch.py", """
        import argparse, subprocess, sys
        parser = argparse.ArgumentParser()
        parser.add_argument("--nproc", type=int, default=1)
        args, rest = parser.parse_known_args()
        subprocess.run([sys.executable, *rest], check=True)
    """)
    gitrun(repo, "-q", "--", PY, "launch.py", "--nproc", "2", "train.py", "--lr", "0.5")
    run = last_run(repo)
    assert run["params"]["lr"] == 0.5
    assert "verbose" not in run["params"] and "nproc" not in run["params"]
    assert run["params_source"]["epochs"] == "argparse"


def test_hydra_style_script_config_and_overrides(repo: Path) -> None:
    """A Hydra-style script: a config file it reads, overridden by key=value arguments."""
    write(repo, "conf/config.yaml", "optimizer:\n  name: sgd\n  lr: 0.1\nepochs: 10\n")
    write(repo, "train.py", """
        import sys, yaml
        config = yaml.safe_load(open("conf/config.yaml"))
        for override in sys.argv[1:]:
            key, value = override.lstrip("+").split("=", 1)
            node = config
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = yaml.safe_load(value)
        print(config)
    """)
    result = gitrun(repo, "-q", "--", PY, "train.py", "optimizer.lr=0.01", "+trainer.devices=2")
    assert "'lr': 0.01" in result.stdout
    run = last_run(repo)
    assert run["params"] == {"optimizer.name": "sgd", "optimizer.lr": 0.01, "epochs": 10, "trainer.devices": 2}
    assert run["params_source"] == {"optimizer.name": "file:conf/config.yaml", "optimizer.lr": "argv",
                                    "epochs": "file:conf/config.yaml", "trainer.devices": "argv"}
