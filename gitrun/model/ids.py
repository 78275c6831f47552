"""Run ids and names.

A run id is a ULID written in lower-case Crockford base32: 48 bits of milliseconds since the
epoch then 80 random bits. Two machines recording in the same millisecond collide with
probability 2**-80, so no coordination is needed, and ids sort by start time.
"""

from __future__ import annotations

import os
import re
import time

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
RUN_ID_LENGTH = 26
RUN_ID_PATTERN = re.compile(r"^[0-9a-hjkmnp-tv-z]{26}$")  # lower-case Crockford base32
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

_ADJECTIVES = (
    "able", "amber", "ancient", "azure", "bold", "brave", "breezy", "bright", "brisk", "calm", "clever",
    "cosmic", "crimson", "curious", "daring", "dusty", "eager", "early", "fancy", "fast", "fierce", "gentle",
    "giant", "glad", "golden", "grand", "happy", "hidden", "humble", "icy", "jolly", "keen", "kind", "lively",
    "lucky", "mellow", "merry", "mighty", "misty", "modest", "noble", "odd", "olive", "pale", "plucky",
    "polite", "proud", "quick", "quiet", "rapid", "rosy", "royal", "rusty", "shiny", "silent", "silver",
    "sleek", "smart", "snowy", "solar", "spicy", "steady", "stormy", "sunny", "swift", "tidy", "tiny",
    "vivid", "warm", "wild", "wise", "witty", "young", "zesty",
)
_NOUNS = (
    "acorn", "badger", "beacon", "bison", "canyon", "cedar", "comet", "condor", "coral", "crane", "delta",
    "dingo", "eagle", "ember", "falcon", "fern", "fjord", "gecko", "glacier", "heron", "hornet", "ibis",
    "iris", "jaguar", "kestrel", "koala", "lagoon", "lark", "lemur", "lynx", "maple", "marlin", "meadow",
    "mole", "moose", "nebula", "newt", "orbit", "otter", "owl", "panda", "pebble", "pine", "plover",
    "prairie", "puffin", "quail", "quartz", "raven", "reef", "robin", "salmon", "sparrow", "spruce", "stork",
    "summit", "tapir", "tern", "thistle", "tiger", "toucan", "tundra", "vole", "walrus", "willow", "wombat",
    "yak", "zebra",
)


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_run_id(now_ms: int | None = None) -> str:
    """A new time-sortable, globally unique run id."""
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    randomness = int.from_bytes(os.urandom(10), "big")
    return _encode(millis, 10) + _encode(randomness, 16)


def run_id_time_ms(run_id: str) -> int:
    """The creation time embedded in a run id, in milliseconds since the epoch."""
    value = 0
    for char in run_id[:10]:
        value = value * 32 + _CROCKFORD.index(char)
    return value


def new_run_name() -> str:
    """A short human name such as ``brisk-heron-42``; uniqueness is checked by the caller."""
    pick = int.from_bytes(os.urandom(4), "big")
    adjective = _ADJECTIVES[pick % len(_ADJECTIVES)]
    noun = _NOUNS[(pick // len(_ADJECTIVES)) % len(_NOUNS)]
    number = (pick // (len(_ADJECTIVES) * len(_NOUNS))) % 100
    return f"{adjective}-{noun}-{number}"


def is_run_id(text: str) -> bool:
    return bool(RUN_ID_PATTERN.match(text))


_ID_PREFIX_PATTERN = re.compile(r"^[0-7][0-9a-hjkmnp-tv-z]{3,25}$")  # ids start with a time: 0-7 until 10889


def looks_like_id_prefix(text: str) -> bool:
    """Whether ``text`` could select runs as an id prefix (4+ characters; case does not matter)."""
    return bool(_ID_PREFIX_PATTERN.match(text.lower()))


def is_valid_name(text: str) -> bool:
    """A name a user may give: it must not be, or look like, a run id or an id prefix (ids win)."""
    return bool(NAME_PATTERN.match(text)) and not looks_like_id_prefix(text)
