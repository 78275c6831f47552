"""Sweeps as plain data: the parameter space, how it is searched, and its expansion into trials.

A sweep comes from the command line (``--grid lr=0.1,0.01``, ``--param lr=loguniform:1e-5:1e-1``
with ``--random N``) or from a sweep file in the W&B format (``method``, ``metric``,
``parameters``, ``command``/``program``), so existing sweep files run unchanged. Expansion is
deterministic: a grid in declaration order (the first parameter varies slowest), random draws
from ``random.Random(seed)``, so the same sweep always gives the same trials.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitrun.errors import UsageError
from gitrun.model.job import Value, typed_value, value_text

GRID = "grid"
RANDOM = "random"
METHODS = (GRID, RANDOM)
MINIMIZE = "minimize"
MAXIMIZE = "maximize"

# W&B's distribution names; the command line's short forms map onto them.
DISTRIBUTIONS = (
    "constant", "categorical", "int_uniform", "uniform", "q_uniform", "log_uniform", "log_uniform_values",
    "q_log_uniform", "q_log_uniform_values", "inv_log_uniform", "inv_log_uniform_values", "normal", "q_normal",
    "log_normal", "q_log_normal",
)
_SHORT_FORMS = {
    "choice": "categorical", "categorical": "categorical", "uniform": "uniform", "int": "int_uniform",
    "int_uniform": "int_uniform", "loguniform": "log_uniform_values", "log_uniform": "log_uniform_values",
    "log": "log_uniform_values", "normal": "normal", "quniform": "q_uniform", "q_uniform": "q_uniform",
}
DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")
_MACROS = ("${env}", "${interpreter}", "${program}", "${args}", "${args_no_hyphens}", "${args_no_boolean_flags}",
           "${args_json}")
MAX_TRIALS = 100_000  # a grid beyond this is a typo (or a job for a real search tool)


@dataclass(frozen=True)
class Parameter:
    """One swept parameter: a list of values, or a distribution with its bounds."""

    name: str
    distribution: str
    values: tuple[Any, ...] = ()
    probabilities: tuple[float, ...] | None = None
    low: float | None = None  # W&B's min
    high: float | None = None  # W&B's max
    q: float | None = None
    mu: float | None = None
    sigma: float | None = None

    @property
    def is_finite(self) -> bool:
        return self.distribution in ("constant", "categorical", "int_uniform")

    def grid_values(self) -> list[Any]:
        if self.distribution in ("constant", "categorical"):
            return list(self.values)
        if self.distribution == "int_uniform" and self.low is not None and self.high is not None:
            return list(range(int(self.low), int(self.high) + 1))
        raise UsageError(f"parameter '{self.name}': a grid needs a list of values, not a {self.distribution} "
                         "distribution", hint="give `values: [...]`, or use `method: random`")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "distribution": self.distribution}
        if self.values:
            out["values"] = list(self.values)
        if self.probabilities is not None:
            out["probabilities"] = list(self.probabilities)
        for key in ("low", "high", "q", "mu", "sigma"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Parameter:
        probabilities = data.get("probabilities")
        return cls(name=str(data["name"]), distribution=str(data["distribution"]),
                   values=tuple(data.get("values", ())),
                   probabilities=tuple(float(p) for p in probabilities) if probabilities is not None else None,
                   **{key: _float_or_none(data.get(key)) for key in ("low", "high", "q", "mu", "sigma")})


@dataclass(frozen=True)
class Metric:
    name: str
    goal: str = MINIMIZE

    def better(self, candidate: float, best: float) -> bool:
        return candidate < best if self.goal == MINIMIZE else candidate > best


@dataclass(frozen=True)
class SweepSpec:
    """What to search: the method, the parameters, the metric, how many trials, and the command.

    ``command`` is a W&B command template (with ``${args}`` etc.) when ``template`` is true: each
    trial's arguments are written into it. Otherwise it is the base command, and each trial's
    values are applied to it as parameter overrides (``git run rerun --set`` rules).
    """

    method: str
    parameters: tuple[Parameter, ...]
    metric: Metric | None = None
    count: int | None = None  # random: how many trials; grid: a cap (W&B's run_cap)
    seed: int = 0
    command: tuple[str, ...] = ()
    template: bool = False
    program: str | None = None
    name: str | None = None
    description: str | None = None
    ignored: tuple[str, ...] = field(default=())  # sweep-file keys gitrun reads but does not act on

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "seed": self.seed, "command": list(self.command),
                               "template": self.template,
                               "parameters": [parameter.to_dict() for parameter in self.parameters]}
        if self.metric is not None:
            out["metric"] = {"name": self.metric.name, "goal": self.metric.goal}
        for key in ("count", "program", "name", "description"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.ignored:
            out["ignored"] = list(self.ignored)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepSpec:
        metric = data.get("metric")
        return cls(
            method=str(data["method"]),
            parameters=tuple(Parameter.from_dict(item) for item in data.get("parameters", [])),
            metric=Metric(str(metric["name"]), str(metric.get("goal", MINIMIZE))) if metric else None,
            count=int(data["count"]) if data.get("count") is not None else None,
            seed=int(data.get("seed", 0)),
            command=tuple(str(arg) for arg in data.get("command", [])),
            template=bool(data.get("template", False)),
            program=data.get("program"),
            name=data.get("name"),
            description=data.get("description"),
            ignored=tuple(str(key) for key in data.get("ignored", [])),
        )


Trial = tuple[tuple[str, Any], ...]  # (parameter, value) pairs in the sweep's parameter order


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def format_value(value: Any) -> str:
    """A trial value as a command line gets it (``true``, ``0.1``, ``[a,b]``), as ``--set`` writes it."""
    return value_text(value)


# --- the command line ------------------------------------------------------------------------------

def _split_assignment(text: str, option: str) -> tuple[str, str]:
    name, sep, rest = text.partition("=")
    if not sep or not name.strip() or not rest:
        raise UsageError(f"{option} {text!r}: expected NAME=VALUES", hint=f"e.g. {option} lr=0.1,0.01")
    return name.strip(), rest


def grid_parameter(text: str) -> Parameter:
    """``lr=0.1,0.01`` (``--grid``): a list of values."""
    name, rest = _split_assignment(text, "--grid")
    values = tuple(typed_value(item.strip()) for item in rest.split(",") if item.strip())
    if not values:
        raise UsageError(f"--grid {text!r}: no values", hint="e.g. --grid lr=0.1,0.01")
    return Parameter(name, "categorical", values=values)


def distribution_parameter(text: str) -> Parameter:
    """``lr=loguniform:1e-5:1e-1``, ``depth=int:2:12``, ``opt=choice:adam,sgd``, ``x=normal:0:1``,
    ``p=uniform:0:0.5`` (``--param``)."""
    name, rest = _split_assignment(text, "--param")
    kind, sep, args = rest.partition(":")
    distribution = _SHORT_FORMS.get(kind.strip().lower())
    if not sep or distribution is None:
        raise UsageError(f"--param {text!r}: unknown distribution '{kind}'",
                         hint="use uniform:LOW:HIGH, loguniform:LOW:HIGH, int:LOW:HIGH, normal:MU:SIGMA or "
                              "choice:A,B,C")
    if distribution == "categorical":
        return Parameter(name, distribution, values=tuple(typed_value(v.strip()) for v in args.split(",") if v))
    numbers = args.split(":")
    try:
        parsed = [float(number) for number in numbers]
    except ValueError:
        raise UsageError(f"--param {text!r}: bounds must be numbers", hint=f"e.g. --param {name}=uniform:0:1")
    if distribution == "normal":
        if len(parsed) != 2:
            raise UsageError(f"--param {text!r}: normal takes MU:SIGMA", hint=f"e.g. --param {name}=normal:0:1")
        return _checked(Parameter(name, distribution, mu=parsed[0], sigma=parsed[1]))
    expected = 3 if distribution == "q_uniform" else 2
    if len(parsed) != expected:
        raise UsageError(f"--param {text!r}: {kind} takes {'LOW:HIGH:Q' if expected == 3 else 'LOW:HIGH'}",
                         hint=f"e.g. --param {name}={kind}:1:10")
    return _checked(Parameter(name, distribution, low=parsed[0], high=parsed[1],
                              q=parsed[2] if expected == 3 else None))


def cli_sweep(grid: Sequence[str], params: Sequence[str], random_count: int | None, seed: int,
              metric: str | None, goal: str, command: Sequence[str]) -> SweepSpec:
    """The sweep the options of ``git run sweep`` describe."""
    parameters = [grid_parameter(text) for text in grid] + [distribution_parameter(text) for text in params]
    names = [parameter.name for parameter in parameters]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UsageError(f"parameter {duplicates[0]!r} is given twice", hint="give each parameter once")
    if not parameters:
        raise UsageError("nothing to sweep", hint="give --grid NAME=V1,V2 or --param NAME=DIST:... with --random N")
    method = RANDOM if random_count is not None else GRID
    if method == GRID:
        continuous = [parameter.name for parameter in parameters if not parameter.is_finite]
        if continuous:
            raise UsageError(f"--param {continuous[0]} is a continuous distribution: a grid cannot enumerate it",
                             hint="add --random N to draw N trials")
    spec = SweepSpec(method=method, parameters=tuple(parameters),
                     metric=Metric(metric, _goal(goal)) if metric else None,
                     count=random_count, seed=seed, command=tuple(command))
    trial_count(spec)  # refuse an oversized grid now
    return spec


def _goal(goal: str) -> str:
    lowered = goal.lower()
    if lowered in ("min", MINIMIZE):
        return MINIMIZE
    if lowered in ("max", MAXIMIZE):
        return MAXIMIZE
    raise UsageError(f"unknown goal {goal!r}", hint="use minimize or maximize")


# --- W&B sweep files -------------------------------------------------------------------------------

_KNOWN_KEYS = {"method", "metric", "parameters", "command", "program", "name", "description", "run_cap",
               "early_terminate", "entity", "project"}


def wandb_sweep(config: Mapping[str, Any], seed: int = 0, count: int | None = None) -> SweepSpec:
    """A W&B sweep configuration (the parsed YAML) as a sweep; ``count`` is ``wandb agent --count``."""
    if not isinstance(config, Mapping):
        raise UsageError("a sweep file holds a mapping (method, metric, parameters, ...)",
                         hint="see https://docs.wandb.ai/guides/sweeps/define-sweep-configuration")
    method = str(config.get("method", "")).lower()
    if method == "bayes":
        raise UsageError("method 'bayes' is not supported: gitrun runs grid and random sweeps only",
                         hint="use method: random (or grid), or drive the search with a tool such as Optuna")
    if method not in METHODS:
        raise UsageError(f"sweep file: unknown method {config.get('method')!r}", hint="use method: grid or random")
    raw_parameters = config.get("parameters")
    if not isinstance(raw_parameters, Mapping) or not raw_parameters:
        raise UsageError("sweep file: no parameters", hint="add a `parameters:` mapping")
    parameters = tuple(_wandb_parameters(raw_parameters, ""))
    metric = _wandb_metric(config.get("metric"))
    command = config.get("command", list(DEFAULT_COMMAND))
    if not isinstance(command, list) or not all(isinstance(arg, str | int | float) for arg in command):
        raise UsageError("sweep file: command must be a list of strings",
                         hint="e.g. [${env}, python, train.py, ${args}]")
    command = [str(arg) for arg in command]
    for arg in command:
        if arg.startswith("${") and arg not in _MACROS:
            raise UsageError(f"sweep file: command macro {arg} is not supported",
                             hint="supported: " + ", ".join(_MACROS))
    program = config.get("program")
    if "${program}" in command and not program:
        raise UsageError("sweep file: the command uses ${program} but no program is given",
                         hint="add `program: train.py`")
    run_cap = config.get("run_cap")
    if count is None and run_cap is not None:
        count = int(run_cap)
    if method == RANDOM and count is None:
        raise UsageError("a random sweep needs a number of trials", hint="give --count N (or run_cap in the file)")
    ignored = tuple(sorted(key for key in config if key in ("early_terminate", "entity", "project")))
    unknown = sorted(str(key) for key in config if key not in _KNOWN_KEYS)
    if unknown:
        raise UsageError(f"sweep file: unknown key {unknown[0]!r}",
                         hint="known keys: " + ", ".join(sorted(_KNOWN_KEYS)))
    spec = SweepSpec(method=method, parameters=parameters, metric=metric, count=count, seed=seed,
                     command=tuple(command), template=True, program=str(program) if program else None,
                     name=str(config["name"]) if config.get("name") else None,
                     description=str(config["description"]) if config.get("description") else None,
                     ignored=ignored)
    trial_count(spec)
    return spec


def _wandb_metric(metric: Any) -> Metric | None:
    if metric is None:
        return None
    if not isinstance(metric, Mapping) or not metric.get("name"):
        raise UsageError("sweep file: metric needs a name", hint="e.g. metric: {name: val_loss, goal: minimize}")
    return Metric(str(metric["name"]), _goal(str(metric.get("goal", MINIMIZE))))


def _wandb_parameters(raw: Mapping[str, Any], prefix: str) -> list[Parameter]:
    """W&B parameters; nested ``parameters:`` blocks become dotted names (``optimizer.lr``)."""
    found: list[Parameter] = []
    for key, body in raw.items():
        name = f"{prefix}{key}"
        if not isinstance(body, Mapping):
            raise UsageError(f"sweep file: parameter {name!r} must be a mapping",
                             hint="e.g. lr: {values: [0.1, 0.01]}")
        if "parameters" in body:
            found += _wandb_parameters(body["parameters"], f"{name}.")
            continue
        found.append(_checked(_wandb_parameter(name, body)))
    return found


def _wandb_parameter(name: str, body: Mapping[str, Any]) -> Parameter:
    distribution = body.get("distribution")
    if distribution is None:
        if "value" in body:
            distribution = "constant"
        elif "values" in body:
            distribution = "categorical"
        elif "min" in body and "max" in body:
            both_int = all(isinstance(body[k], int) and not isinstance(body[k], bool) for k in ("min", "max"))
            distribution = "int_uniform" if both_int else "uniform"
        elif "mu" in body or "sigma" in body:
            distribution = "normal"
        else:
            raise UsageError(f"sweep file: parameter {name!r} has no value, values, min/max or distribution",
                             hint="e.g. lr: {min: 0.0001, max: 0.1}")
    distribution = str(distribution)
    if distribution not in DISTRIBUTIONS:
        raise UsageError(f"sweep file: parameter {name!r}: unknown distribution {distribution!r}",
                         hint="known: " + ", ".join(DISTRIBUTIONS))
    if distribution == "constant":
        return Parameter(name, distribution, values=(body.get("value"),))
    if distribution == "categorical":
        values = body.get("values")
        if not isinstance(values, list) or not values:
            raise UsageError(f"sweep file: parameter {name!r} needs a non-empty list of values", hint="values: [a, b]")
        probabilities = body.get("probabilities")
        return Parameter(name, distribution, values=tuple(values),
                         probabilities=tuple(float(p) for p in probabilities) if probabilities else None)
    default_mu, default_sigma = (0.0, 1.0)
    try:
        return Parameter(name, distribution, low=_float_or_none(body.get("min")), high=_float_or_none(body.get("max")),
                         q=float(body.get("q", 1.0)) if distribution.startswith("q_") else None,
                         mu=float(body.get("mu", default_mu)) if "normal" in distribution else None,
                         sigma=float(body.get("sigma", default_sigma)) if "normal" in distribution else None)
    except (TypeError, ValueError):
        raise UsageError(f"sweep file: parameter {name!r}: min, max, q, mu and sigma must be numbers", hint=None)


def _checked(parameter: Parameter) -> Parameter:
    """Refuse bounds that cannot be sampled, before any job is queued."""
    kind = parameter.distribution
    name = parameter.name
    probabilities = parameter.probabilities
    if kind == "categorical" and probabilities is not None and (
            len(probabilities) != len(parameter.values) or not math.isclose(sum(probabilities), 1.0, abs_tol=1e-6)):
        raise UsageError(f"parameter {name!r}: probabilities must be one per value and sum to 1", hint=None)
    if kind in ("constant", "categorical") or "normal" in kind:
        if "normal" in kind and (parameter.sigma is None or parameter.sigma <= 0):
            raise UsageError(f"parameter {name!r}: sigma must be positive", hint=None)
        return parameter
    low, high = parameter.low, parameter.high
    if low is None or high is None:
        raise UsageError(f"parameter {name!r}: {kind} needs min and max", hint=f"e.g. {name}: {{min: 0, max: 1}}")
    if low > high:
        raise UsageError(f"parameter {name!r}: min {low:g} is above max {high:g}", hint="swap them")
    if kind.endswith("_values") and low <= 0:
        raise UsageError(f"parameter {name!r}: a log-uniform range must be above 0 (min is {low:g})",
                         hint="give positive bounds, e.g. 1e-5 and 1e-1")
    if parameter.q is not None and parameter.q <= 0:
        raise UsageError(f"parameter {name!r}: q must be positive", hint=None)
    return parameter


# --- expansion -------------------------------------------------------------------------------------

def trial_count(spec: SweepSpec) -> int:
    """How many trials the sweep expands to (refusing a grid over ``MAX_TRIALS``)."""
    if spec.method == RANDOM:
        count = spec.count or 0
        if count <= 0:
            raise UsageError("a random sweep needs a positive number of trials", hint="e.g. --random 20")
    else:
        count = math.prod(len(parameter.grid_values()) for parameter in spec.parameters)
        if spec.count is not None:
            count = min(count, spec.count)
    if count > MAX_TRIALS:
        raise UsageError(f"the sweep expands to {count} trials (the limit is {MAX_TRIALS})",
                         hint="give fewer values, or use --random N")
    return count


def expand(spec: SweepSpec) -> list[Trial]:
    """Every trial of the sweep, in a fixed order: the same spec always gives the same trials."""
    count = trial_count(spec)
    if spec.method == GRID:
        names = [parameter.name for parameter in spec.parameters]
        grid = itertools.product(*(parameter.grid_values() for parameter in spec.parameters))
        return [tuple(zip(names, values, strict=True)) for values in itertools.islice(grid, count)]
    rng = random.Random(spec.seed)
    return [tuple((parameter.name, sample(parameter, rng)) for parameter in spec.parameters) for _ in range(count)]


def sample(parameter: Parameter, rng: random.Random) -> Any:
    """One draw from the parameter's distribution (W&B's definitions: ``log_uniform`` bounds are
    natural-log exponents, ``log_uniform_values`` bounds are values)."""
    kind = parameter.distribution
    if kind == "constant":
        return parameter.values[0]
    if kind == "categorical":
        weights = list(parameter.probabilities) if parameter.probabilities else None
        return rng.choices(list(parameter.values), weights=weights)[0]
    low, high = parameter.low or 0.0, parameter.high or 0.0
    mu, sigma = parameter.mu or 0.0, parameter.sigma or 1.0
    value: float
    if kind == "int_uniform":
        return rng.randint(int(low), int(high))
    if kind in ("uniform", "q_uniform"):
        value = rng.uniform(low, high)
    elif kind in ("log_uniform", "q_log_uniform"):
        value = math.exp(rng.uniform(low, high))
    elif kind in ("log_uniform_values", "q_log_uniform_values"):
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
    elif kind == "inv_log_uniform":
        value = math.exp(-rng.uniform(low, high))
    elif kind == "inv_log_uniform_values":
        value = 1.0 / math.exp(rng.uniform(math.log(1.0 / high), math.log(1.0 / low)))
    elif kind in ("normal", "q_normal"):
        value = rng.gauss(mu, sigma)
    else:  # log_normal, q_log_normal
        value = math.exp(rng.gauss(mu, sigma))
    if parameter.q is not None:
        quantised = round(value / parameter.q) * parameter.q
        return int(quantised) if float(parameter.q).is_integer() else float(f"{quantised:.12g}")
    return float(f"{value:.6g}")  # six significant digits: readable in a command line, as W&B prints


# --- commands for each trial -----------------------------------------------------------------------

def render_command(spec: SweepSpec, trial: Trial, interpreter: str = "python") -> list[str]:
    """The command of one trial of a templated (W&B) sweep: ``${args}`` and friends filled in."""
    out: list[str] = []
    for arg in spec.command:
        if arg == "${env}":
            out.append("/usr/bin/env")
        elif arg == "${interpreter}":
            out.append(interpreter)
        elif arg == "${program}":
            out.append(spec.program or "")
        elif arg == "${args}":
            out += [f"--{name}={format_value(value)}" for name, value in trial]
        elif arg == "${args_no_hyphens}":
            out += [f"{name}={format_value(value)}" for name, value in trial]
        elif arg == "${args_no_boolean_flags}":
            out += [f"--{name}" if value is True else f"--{name}={format_value(value)}"
                    for name, value in trial if value is not False]
        elif arg == "${args_json}":
            out.append(json.dumps(dict(trial), separators=(",", ":")))
        else:
            out.append(arg)
    return out


def overrides(trial: Trial) -> list[tuple[str, Value]]:
    """A trial as parameter overrides (``--set NAME=VALUE`` pairs) of the base command."""
    return [(name, value) for name, value in trial]


# --- the best run ----------------------------------------------------------------------------------

def metric_value(doc: Mapping[str, Any], name: str) -> float | None:
    """A run's value of the sweep metric: its last logged value (``[metrics]``, as W&B's summary
    holds the last value), else the last of its series (``[summary."<name>"].last``), else a number
    the script printed once (``[console.facts]``: ``print(f"loss: {loss}")`` at the end)."""
    candidates = [_table(doc, "metrics").get(name)]
    summary = _table(doc, "summary").get(name)
    if isinstance(summary, Mapping):
        candidates.append(summary.get("last"))
    candidates.append(_table(_table(doc, "console"), "facts").get(name))
    for value in candidates:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    return None


def _table(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, Mapping) else {}


def best_index(values: Sequence[float | None], metric: Metric) -> int | None:
    """The position of the best value (the first of equals), ignoring runs without one."""
    best: int | None = None
    for index, value in enumerate(values):
        if value is None:
            continue
        current = values[best] if best is not None else None
        if current is None or metric.better(value, current):
            best = index
    return best
