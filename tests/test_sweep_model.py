"""Sweep expansion: grids, seeded random draws, and W&B sweep files as they are written."""

from __future__ import annotations

import math

import pytest
import yaml

from gitrun.errors import UsageError
from gitrun.model import sweep as sw


def test_grid_is_the_cartesian_product_in_declaration_order() -> None:
    spec = sw.cli_sweep(["lr=0.1,0.01", "depth=6,12"], [], None, 0, "loss", "min", ["python", "train.py"])
    trials = sw.expand(spec)
    assert trials == [
        (("lr", 0.1), ("depth", 6)), (("lr", 0.1), ("depth", 12)),
        (("lr", 0.01), ("depth", 6)), (("lr", 0.01), ("depth", 12)),
    ]
    assert sw.overrides(trials[1]) == [("lr", 0.1), ("depth", 12)]
    assert spec.metric == sw.Metric("loss", sw.MINIMIZE)


def test_grid_values_keep_their_types_and_strings_stay_strings() -> None:
    spec = sw.cli_sweep(["opt=adam,sgd", "wd=1e-4,0", "amp=true,false", "tag=007"], [], None, 0, None, "min", ["x"])
    values = {name: [trial[i][1] for trial in sw.expand(spec)] for i, name in enumerate(["opt", "wd", "amp", "tag"])}
    assert set(values["opt"]) == {"adam", "sgd"}
    assert set(values["wd"]) == {1e-4, 0}
    assert set(values["amp"]) == {True, False}
    assert values["tag"] == ["007"] * 8  # not the number 7


def test_random_draws_are_seeded_and_inside_their_ranges() -> None:
    params = ["lr=loguniform:1e-5:1e-1", "depth=int:2:12", "opt=choice:adam,sgd", "p=uniform:0:0.5"]
    spec = sw.cli_sweep([], params, 50, 7, "acc", "max", ["python", "t.py"])
    first, again = sw.expand(spec), sw.expand(spec)
    assert first == again and len(first) == 50
    other = sw.expand(sw.cli_sweep([], params, 50, 8, "acc", "max", ["python", "t.py"]))
    assert other != first
    for trial in first:
        values = dict(trial)
        assert 1e-5 <= values["lr"] <= 1e-1
        assert isinstance(values["depth"], int) and 2 <= values["depth"] <= 12
        assert values["opt"] in ("adam", "sgd")
        assert 0 <= values["p"] <= 0.5
    # log-uniform: about as many draws in each decade
    decades = [math.floor(math.log10(dict(t)["lr"])) for t in sw.expand(sw.cli_sweep([], params, 400, 1, None, "min",
                                                                                       ["x"]))]
    assert all(decades.count(d) > 50 for d in (-5, -4, -3, -2))


def test_grid_values_in_a_random_sweep_are_drawn_as_choices() -> None:
    spec = sw.cli_sweep(["depth=6,12"], ["lr=uniform:0:1"], 20, 0, None, "min", ["x"])
    assert {dict(trial)["depth"] for trial in sw.expand(spec)} == {6, 12}


@pytest.mark.parametrize(("grid", "params", "count", "message"), [
    ([], [], None, "nothing to sweep"),
    (["lr"], [], None, "expected NAME=VALUES"),
    (["lr=0.1", "lr=0.2"], [], None, "given twice"),
    ([], ["lr=uniform:0:1"], None, "cannot enumerate"),
    ([], ["lr=gamma:1:2"], 3, "unknown distribution"),
    ([], ["lr=uniform:1:0"], 3, "above max"),
    ([], ["lr=loguniform:0:1"], 3, "above 0"),
    ([], ["lr=uniform:a:b"], 3, "must be numbers"),
    ([], ["lr=uniform:0:1"], 0, "positive number"),
    (["a=" + ",".join(map(str, range(1000))), "b=" + ",".join(map(str, range(1000)))], [], None, "limit"),
])
def test_bad_sweeps_are_refused_with_one_line(grid: list[str], params: list[str], count: int | None,
                                              message: str) -> None:
    with pytest.raises(UsageError, match=message):
        sw.cli_sweep(grid, params, count, 0, None, "min", ["x"])


WANDB_FILE = """
program: train.py
method: random
metric:
  name: val_loss
  goal: minimize
run_cap: 6
parameters:
  learning_rate:
    distribution: log_uniform_values
    min: 0.0001
    max: 0.1
  batch_size:
    values: [16, 32, 64]
  epochs:
    value: 3
  dropout:
    min: 0.1
    max: 0.5
  layers:
    min: 1
    max: 4
  optimizer:
    parameters:
      momentum:
        distribution: uniform
        min: 0.8
        max: 0.99
early_terminate:
  type: hyperband
  min_iter: 3
"""


def test_a_wandb_sweep_file_expands_into_commands() -> None:
    spec = sw.wandb_sweep(yaml.safe_load(WANDB_FILE), seed=3)
    assert spec.method == sw.RANDOM and spec.count == 6 and spec.template
    assert spec.metric == sw.Metric("val_loss", sw.MINIMIZE)
    assert spec.ignored == ("early_terminate",)
    kinds = {p.name: p.distribution for p in spec.parameters}
    assert kinds == {"learning_rate": "log_uniform_values", "batch_size": "categorical", "epochs": "constant",
                     "dropout": "uniform", "layers": "int_uniform", "optimizer.momentum": "uniform"}
    trials = sw.expand(spec)
    assert len(trials) == 6 and trials == sw.expand(sw.wandb_sweep(yaml.safe_load(WANDB_FILE), seed=3))
    command = sw.render_command(spec, trials[0])
    assert command[:3] == ["/usr/bin/env", "python", "train.py"]
    args = dict(arg[2:].split("=", 1) for arg in command[3:])
    assert set(args) == {"learning_rate", "batch_size", "epochs", "dropout", "layers", "optimizer.momentum"}
    assert args["epochs"] == "3" and args["batch_size"] in ("16", "32", "64")
    assert 1 <= int(args["layers"]) <= 4


def test_wandb_grid_with_a_custom_command_and_macros() -> None:
    config = {"method": "grid", "program": "train.py",
              "command": ["${env}", "python3", "${program}", "--fast", "${args_no_hyphens}"],
              "parameters": {"lr": {"values": [0.1, 0.01]}, "amp": {"values": [True, False]}}}
    spec = sw.wandb_sweep(config)
    commands = [sw.render_command(spec, trial) for trial in sw.expand(spec)]
    assert commands[0] == ["/usr/bin/env", "python3", "train.py", "--fast", "lr=0.1", "amp=true"]
    assert len(commands) == 4
    flags = dict(config, command=["python", "${program}", "${args_no_boolean_flags}"])
    spec = sw.wandb_sweep(flags)
    rendered = [sw.render_command(spec, trial) for trial in sw.expand(spec)]
    assert rendered[0] == ["python", "train.py", "--lr=0.1", "--amp"] and rendered[1] == ["python", "train.py",
                                                                                          "--lr=0.1"]
    spec = sw.wandb_sweep(dict(config, command=["python", "${program}", "${args_json}"]))
    assert sw.render_command(spec, sw.expand(spec)[0])[-1] == '{"lr":0.1,"amp":true}'


@pytest.mark.parametrize(("change", "message"), [
    ({"method": "bayes"}, "bayes' is not supported"),
    ({"method": "hyperopt"}, "unknown method"),
    ({"parameters": {}}, "no parameters"),
    ({"parameters": {"lr": {"min": 0.1}}}, "no value, values"),
    ({"parameters": {"lr": {"distribution": "beta", "min": 0, "max": 1}}}, "unknown distribution"),
    ({"method": "random"}, "needs a number of trials"),
    ({"parameters": {"lr": {"min": 0.0, "max": 1.0}}}, "cannot|grid needs"),
    ({"command": ["python", "${args_json_file}"]}, "not supported"),
    ({"program": None}, "no program"),
    ({"metric": {"goal": "maximize"}}, "metric needs a name"),
    ({"colour": "red"}, "unknown key"),
])
def test_bad_wandb_files_are_refused(change: dict[str, object], message: str) -> None:
    config: dict[str, object] = {"method": "grid", "program": "train.py", "parameters": {"lr": {"values": [1, 2]}}}
    config.update(change)
    with pytest.raises(UsageError, match=message):
        sw.expand(sw.wandb_sweep(config))


def test_wandb_log_uniform_bounds_are_exponents() -> None:
    config = {"method": "random", "program": "t.py", "run_cap": 200,
              "parameters": {"lr": {"distribution": "log_uniform", "min": math.log(1e-4), "max": math.log(1e-1)},
                             "q": {"distribution": "q_uniform", "min": 0, "max": 10, "q": 2}}}
    for trial in sw.expand(sw.wandb_sweep(config)):
        values = dict(trial)
        assert 1e-4 * 0.999 <= values["lr"] <= 1e-1 * 1.001
        assert values["q"] in (0, 2, 4, 6, 8, 10)


def test_spec_round_trips_through_its_stored_form() -> None:
    spec = sw.wandb_sweep(yaml.safe_load(WANDB_FILE), seed=3)
    assert sw.SweepSpec.from_dict(spec.to_dict()) == spec


def test_the_best_run_follows_the_goal_and_skips_runs_without_the_metric() -> None:
    docs = [{"metrics": {"loss": 0.5}}, {"metrics": {}}, {"summary": {"loss": {"last": 0.2}}},
            {"metrics": {"loss": float("nan")}}, {"metrics": {"loss": 0.9}}, {"console": {"facts": {"loss": 0.7}}}]
    values = [sw.metric_value(doc, "loss") for doc in docs]
    assert values == [0.5, None, 0.2, None, 0.9, 0.7]
    assert sw.best_index(values, sw.Metric("loss", sw.MINIMIZE)) == 2
    assert sw.best_index(values, sw.Metric("loss", sw.MAXIMIZE)) == 4
    assert sw.best_index([None, None], sw.Metric("loss")) is None
