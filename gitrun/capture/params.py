"""Parameters of a run, found without any change to the user's code.

- ``params_from_argv``: ``--lr 0.01``, ``--lr=0.01``, ``-n 5``, flags, ``key=value`` overrides
  (Hydra style: dotted keys, ``+key=v``, ``++key=v``), typed (int, float, bool, string, list).
- ``load_param_file``: the content of a YAML/JSON/TOML file, flattened to dotted keys.
- ``param_files_in_argv``: files named on the command line that parse as parameter files.

Everything here is pure parsing (plus reading the named files); the recorder decides where the
values go. Keys are flat and dotted (``optimizer.lr``); values are TOML-safe (no ``None``).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import time
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gitrun.model.collector import collector_paused
from gitrun.model.schema import MAX_DEPTH, deepest_key, nesting_depth

PARAM_FILE_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
MAX_PARAM_FILE_BYTES = 1024 * 1024
MAX_PARAMS_PER_SOURCE = 2000
MAX_STRING = 1000

_INT = re.compile(r"^[+-]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"^[+-]?((\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?)$")
_HYDRA_KEY = re.compile(r"^(\+\+|\+)?([A-Za-z_][\w\-]*(?:\.[\w\-]+|/[\w\-]+)*(?:@[\w.\-/]+)?)$")
_OPTION_NAME = re.compile(r"^[A-Za-z_][\w\-.]*$")
_PYTHON = re.compile(r"^(python|pypy)(\d+(\.\d+)*)?(\.exe)?$")
# Interpreter options that take a value (python -W error -X dev script.py).
_PY_OPTS_WITH_VALUE = {"-W", "-X", "--check-hash-based-pycs"}


def coerce(text: str) -> Any:
    """A command-line string as the value it obviously means: int, float, bool, list, or the string."""
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INT.match(stripped):
        try:
            return int(stripped.replace("_", ""))
        except ValueError:
            return text
    if _FLOAT.match(stripped) and not stripped.lstrip("+-").isdigit():  # "007" stays a string
        value = float(stripped)
        return value if math.isfinite(value) else text
    if len(stripped) >= 2 and stripped[0] == "[" and stripped[-1] == "]":
        inner = stripped[1:-1].strip()
        if not inner:
            return []
        return [coerce(item.strip().strip("'\"")) for item in _split_top_level(inner)]
    if "," in stripped and " " not in stripped:
        items = stripped.split(",")
        coerced = [coerce(item) for item in items if item]
        if len(coerced) == len(items) and all(isinstance(v, int | float) and not isinstance(v, bool)
                                              for v in coerced):
            return coerced
    return text


def _split_top_level(text: str) -> list[str]:
    items: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return items


def is_number_text(text: str) -> bool:
    return bool(_INT.match(text) or _FLOAT.match(text))


def script_arguments(argv: Sequence[str]) -> list[str]:
    """The part of a command line that belongs to the user's program (not to the interpreter)."""
    if not argv:
        return []
    program = os.path.basename(argv[0])
    if not _PYTHON.match(program):
        # A wrapper (torchrun, accelerate launch, uv run python ...): the script's own arguments
        # follow its .py file when there is one.
        for index, arg in enumerate(argv[1:], start=1):
            if arg.endswith(".py") and not arg.startswith("-"):
                return list(argv[index + 1:])
        return list(argv[1:])
    index = 1
    while index < len(argv):
        arg = argv[index]
        if arg in ("-m", "-c"):
            return list(argv[index + 2:])
        if arg.startswith("-m") and len(arg) > 2:  # -mpkg
            return list(argv[index + 1:])
        if arg in _PY_OPTS_WITH_VALUE:
            index += 2
            continue
        if arg == "-":
            return list(argv[index + 1:])
        if arg.startswith("-"):
            index += 1
            continue
        return list(argv[index + 1:])  # the script
    return []


def _option_key(name: str) -> str:
    return name.replace("-", "_") if "." not in name else name


def params_from_argv(argv: Sequence[str], overrides: set[str] | None = None) -> dict[str, Any]:
    """Typed parameters of a command line (the script's part of it), as flat dotted keys.

    Keys that came from ``key=value`` overrides (not from ``--options``) are added to ``overrides``.
    """
    args = script_arguments(argv)
    params: dict[str, Any] = {}
    index = 0
    positional_only = False
    while index < len(args):
        arg = args[index]
        index += 1
        if positional_only:
            continue
        if arg == "--":
            positional_only = True
            continue
        if arg.startswith("-") and not is_number_text(arg) and len(arg) > 1:
            name = arg.lstrip("-")
            if "=" in name:
                name, _, value_text = name.partition("=")
                if _OPTION_NAME.match(name):
                    params[_option_key(name)] = coerce(value_text)
                continue
            if not _OPTION_NAME.match(name):
                continue
            values: list[str] = []
            while index < len(args) and (not args[index].startswith("-") or is_number_text(args[index])) \
                    and not (_HYDRA_KEY.match(args[index].split("=", 1)[0]) and "=" in args[index]):
                values.append(args[index])
                index += 1
                # More than one value only when they are all numbers (nargs="+" lists of numbers);
                # otherwise the rest are positional arguments.
                if not is_number_text(values[0]) or index >= len(args) or not is_number_text(args[index]):
                    break
            key = _option_key(name)
            if not values:
                params[key] = True
            elif len(values) == 1:
                params[key] = coerce(values[0])
            else:
                params[key] = [coerce(v) for v in values]
            continue
        if "=" in arg:
            key_text, _, value_text = arg.partition("=")
            match = _HYDRA_KEY.match(key_text)
            if match:
                key = match.group(2).replace("/", ".")
                params[key] = coerce(value_text)
                if overrides is not None:
                    overrides.add(key)
    return params


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; values made TOML-safe, ``None`` dropped."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            if item:
                out.update(flatten(item, name + "."))
            continue
        safe = safe_value(item)
        if safe is not None:
            out[name] = safe
    return out


def safe_value(value: Any) -> Any:
    """A value TOML and JSON can hold; ``None`` for nothing."""
    if value is None:
        return None
    if isinstance(value, bool | int | str):
        return value if not isinstance(value, str) or len(value) <= MAX_STRING else value[:MAX_STRING] + "…"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = [safe_value(item) for item in value]
        return [item for item in items if item is not None]
    if isinstance(value, Mapping):
        return {str(k): v for k, v in ((k, safe_value(v)) for k, v in value.items()) if v is not None}
    text = str(value)
    return text if len(text) <= MAX_STRING else text[:MAX_STRING] + "…"


MAX_PARAM_VALUES = 200_000  # scalars a parsed file may expand to (YAML aliases share, flatten copies)


def parse_param_text(text: str, suffix: str) -> Any:
    """The data of a parameter file's text; raises ValueError when it does not parse.

    Bounded whatever the text holds (a teammate's config, a file named on the command line): at
    most ``MAX_DEPTH`` levels of nesting, at most ``MAX_PARAM_VALUES`` values after YAML aliases are
    expanded (an alias bomb under 1 MiB is refused at once, before it is ever expanded), and TOML
    keys dotted no deeper than ``MAX_DEPTH`` (tomllib is quadratic in them).
    """
    suffix = suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(text)
        elif suffix == ".toml":
            if deepest_key(text) > MAX_DEPTH:
                raise ValueError(f"keys dotted more than {MAX_DEPTH} deep")
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            return _load_yaml(text)
        else:
            raise ValueError(f"not a parameter file type: {suffix}")
    except RecursionError:
        raise ValueError(f"nested more than {MAX_DEPTH} deep")
    if nesting_depth(data) > MAX_DEPTH:
        raise ValueError(f"nested more than {MAX_DEPTH} deep")
    return data


_BRACKETS = re.compile(r"[\[\]{}]")


def yaml_depth_estimate(text: str) -> int:
    """About how deeply YAML ``text`` nests (block indentation levels plus open brackets), cheaply.

    PyYAML's scanner takes time quadratic in the nesting (2,000 ``[`` take seconds), so nesting is
    estimated before parsing; brackets inside quoted text count too (a generous overestimate).
    """
    indents: list[int] = []
    flow = deepest = 0
    for line in text.splitlines():
        body = line.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        indent = len(line) - len(body)
        while indents and indents[-1] >= indent:
            indents.pop()
        indents.append(indent)
        for bracket in _BRACKETS.findall(body):
            flow += 1 if bracket in "[{" else -1
            deepest = max(deepest, len(indents) + flow)
        deepest = max(deepest, len(indents) + flow)
    return deepest


YAML_SECONDS = 5.0  # wall time a YAML document may take to parse (1 MiB of plain YAML: well under 1 s)
_TICK = 1024  # nodes between two looks at the clock


def _load_yaml(text: str) -> Any:
    import yaml

    if yaml_depth_estimate(text) > MAX_DEPTH:
        raise ValueError(f"nested more than {MAX_DEPTH} deep")

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # LibYAML when present: several times faster
    deadline = time.monotonic() + YAML_SECONDS
    ticks = [0]
    tags: dict[tuple[str, Any], str] = {}  # a scalar's tag by its text: the same keys and values recur

    def tick() -> None:
        ticks[0] += 1
        if ticks[0] % _TICK == 0 and time.monotonic() > deadline:
            raise ValueError(f"took more than {YAML_SECONDS:g} s to parse; not read")

    class BoundedLoader(base):  # type: ignore[valid-type,misc]
        """A safe loader that measures the composed node graph before building anything from it, and
        stops at the deadline: LibYAML's composer calls ``resolve`` for every node, the constructor
        ``construct_object``, so both phases look at the clock."""

        def get_single_node(self) -> Any:
            node = super().get_single_node()
            _check_yaml_graph(node)
            return node

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            tick()
            if kind is not yaml.ScalarNode:
                return super().resolve(kind, value, implicit)
            key = (value, implicit)
            tag = tags.get(key)
            if tag is None:
                tag = tags[key] = super().resolve(kind, value, implicit)
            return tag

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            tick()
            return super().construct_object(node, deep)

    try:
        with collector_paused():  # the collector rescans the growing node graph again and again: 4x the parse
            return yaml.load(text, Loader=BoundedLoader)
    except yaml.YAMLError as err:
        raise ValueError(str(err))
    except RecursionError:
        raise ValueError(f"nested more than {MAX_DEPTH} deep")


def _check_yaml_graph(root: Any) -> None:
    """Refuse a YAML document whose aliases expand past MAX_PARAM_VALUES or MAX_DEPTH.

    Aliases make the node graph a DAG: its expanded size and height are computed once per node, so
    a billion-laughs document costs as little to measure as it takes to read.
    """
    import yaml

    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded values, height)

    def measure(node: Any) -> tuple[int, int]:
        known = measured.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        size, height = 1, 1
        for child in children:
            child_size, child_height = measure(child)
            size += child_size
            height = max(height, child_height + 1)
        if size > MAX_PARAM_VALUES:
            raise ValueError(f"holds more than {MAX_PARAM_VALUES} values once its YAML aliases are expanded "
                             "(aliases repeated inside one another: an alias bomb?)")
        if height > MAX_DEPTH:
            raise ValueError(f"nested more than {MAX_DEPTH} deep")
        measured[id(node)] = (size, height)
        return size, height

    if root is not None:
        measure(root)


def load_param_file(path: Path) -> dict[str, Any]:
    """A YAML/JSON/TOML file's content as flat dotted parameters; ValueError when it is not one."""
    if path.suffix.lower() not in PARAM_FILE_SUFFIXES:
        raise ValueError(f"{path.name}: not a .yaml, .yml, .json or .toml file")
    try:
        data = parse_param_text(read_param_text(path), path.suffix)
    except (UnicodeDecodeError, ValueError) as err:  # JSON and TOML errors are ValueErrors too
        raise ValueError(f"{path.name}: {err}")
    if not isinstance(data, Mapping):
        raise ValueError(f"{path.name}: the top level is not a mapping of names to values")
    return cap(flatten(data))


def read_param_text(path: Path) -> str:
    """A parameter or config file's text, read through ``_read_bounded`` (ValueError past 1 MiB)."""
    return _read_bounded(path).decode("utf-8")


def _read_bounded(path: Path) -> bytes:
    """At most MAX_PARAM_FILE_BYTES of a regular file: a FIFO or device named ``conf.yaml`` would block
    or never end, and a file growing while it is read is cut at the limit, not read to its end."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # opening a FIFO must not wait for a writer
    with open(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ValueError(f"{path.name}: not a regular file")
        data = handle.read(MAX_PARAM_FILE_BYTES + 1)
    if len(data) > MAX_PARAM_FILE_BYTES:
        raise ValueError(f"{path.name}: larger than {MAX_PARAM_FILE_BYTES} bytes")
    return data


def cap(params: dict[str, Any]) -> dict[str, Any]:
    if len(params) <= MAX_PARAMS_PER_SOURCE:
        return params
    return dict(list(params.items())[:MAX_PARAMS_PER_SOURCE])


CONFIG_WORDS = ("param", "config", "conf", "hparam", "hyper", "setting", "args", "hydra")
NOT_PARAMS = frozenset({"pyproject.toml", ".gitrun.toml", "package.json", "package-lock.json", "tsconfig.json",
                        "environment.yml", "environment.yaml", ".pre-commit-config.yaml", "mkdocs.yml"})


def looks_like_param_file(path: Path) -> bool:
    """A file a run read that is probably its configuration: a parameter-file suffix and a name
    (or a folder) that says config/params/settings (``params.yaml``, ``conf/model.yaml``)."""
    if path.suffix.lower() not in PARAM_FILE_SUFFIXES or path.name.lower() in NOT_PARAMS:
        return False
    words = [path.stem.lower(), *(part.lower() for part in path.parts[-4:-1])]
    return any(word in text for text in words for word in CONFIG_WORDS)


def param_files_in_argv(argv: Sequence[str], cwd: Path) -> list[Path]:
    """Existing files with a parameter-file suffix named on the command line (``--config c.yaml``)."""
    found: list[Path] = []
    for arg in script_arguments(argv):
        text = arg.partition("=")[2] if arg.startswith("-") or "=" in arg else arg
        if not text.lower().endswith(PARAM_FILE_SUFFIXES):
            continue
        path = (cwd / text) if not os.path.isabs(text) else Path(text)
        try:
            if path.is_file() and path not in found:
                found.append(path)
        except OSError:
            continue
    return found
