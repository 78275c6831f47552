"""The one secret detector: token formats, credentials in URLs and connection strings, secret names.

Pure functions, no I/O. Everything gitrun stores or publishes goes through it: the note (command,
message, parameters, environment: ``gitrun.model.redaction``), the snapshot (``capture/code.py``),
the console log and the outputs (``runner/finalise.py``), and ``git run check`` / the pre-push hook,
which stream every blob a push would publish through ``StreamScanner``.

What counts (docs/security.md, "Secrets", has the table and the corpora that keep it honest):

- token formats with a distinctive prefix or shape (``sk-``, ``ghp_``, ``AKIA``, ``xoxb-``, ``AIza``,
  PEM private key blocks, JWTs ...), with a randomness test where a prefix alone would also match
  words (``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``, ``ASIAPACIFICNORTHEAST`` are not tokens);
- credentials that sit in a known slot: the password of ``scheme://user:password@host``, ``Pwd=`` /
  ``Password=`` of a ``;``-separated connection string, Azure ``AccountKey=`` / ``SharedAccessKey=``,
  a SAS ``sig=``;
- AWS secret access keys under any variable name: a free-standing 40-character base64 string with
  the randomness of a key, or any such string near an access key id.

A generic "high entropy" test is deliberately not used: it fires on every git sha, wheel hash and
base64 blob, and a guard that cries wolf gets switched off.
"""

from __future__ import annotations

import bisect
import codecs
import fnmatch
import functools
import hashlib
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

REDACTED = "<redacted>"


def redaction_marker(kind: str) -> str:
    """What replaces a secret in stored text: ``<redacted:openai-key>``."""
    return f"<redacted:{kind}>"


@dataclass(frozen=True)
class Found:
    """One secret in a text: ``text[start:end]`` is what redaction replaces."""

    start: int
    end: int
    kind: str


# --- token formats ---------------------------------------------------------------------------------

# A token must not be glued to more token characters on its left, so that the middle of a longer
# identifier, hash or base64 blob does not count.
_L = r"(?<![A-Za-z0-9_\-])"
_R = r"(?![A-Za-z0-9_\-])"

# (group name, kind, pattern). Group names must be identifiers; kinds are what callers see.
_PATTERNS: tuple[tuple[str, str, str], ...] = (
    ("aws", "aws-access-key-id", rf"{_L}(?:AKIA|ASIA)[0-9A-Z]{{16}}{_R}"),
    ("github", "github-token", rf"{_L}gh[pousr]_[A-Za-z0-9]{{36,}}{_R}"),
    ("github_pat", "github-token", rf"{_L}github_pat_[A-Za-z0-9_]{{22,}}{_R}"),
    # xoxa/b/p/r/s tokens always hold digits (team and user ids); "xoxo-" is a greeting.
    ("slack", "slack-token", rf"{_L}xox[abprs]-(?=[A-Za-z\-]*[0-9])[A-Za-z0-9\-]{{10,}}"),
    ("slack_hook", "slack-webhook", r"hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]{8,}"),
    ("google", "google-api-key", rf"{_L}AIza[0-9A-Za-z_\-]{{35}}{_R}"),
    ("anthropic", "anthropic-key", rf"{_L}sk-ant-[A-Za-z0-9]+-[A-Za-z0-9_\-]{{20,}}"),
    # OpenAI keys are long random strings: no dashes in the legacy form, and a digit somewhere,
    # which keeps hyphenated words such as "sk-learn-compatible" out.
    (
        "openai",
        "openai-key",
        rf"{_L}sk-(?:(?:proj|svcacct|admin)-(?=[A-Za-z_\-]*[0-9])[A-Za-z0-9_\-]{{20,}}"
        r"|(?=[A-Za-z]*[0-9])[A-Za-z0-9]{32,})",
    ),
    ("huggingface", "huggingface-token", rf"{_L}hf_[A-Za-z]{{30,}}{_R}"),
    ("gitlab", "gitlab-token", rf"{_L}glpat-[A-Za-z0-9_\-]{{20,}}"),
    ("stripe", "stripe-key", rf"{_L}(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{{16,}}"),
    ("stripe_hook", "stripe-key", rf"{_L}whsec_[A-Za-z0-9]{{24,}}"),
    ("npm", "npm-token", rf"{_L}npm_[A-Za-z0-9]{{36}}{_R}"),
    ("pypi", "pypi-token", rf"{_L}pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{{40,}}"),
    ("sendgrid", "sendgrid-key", rf"{_L}SG\.[A-Za-z0-9_\-]{{22}}\.[A-Za-z0-9_\-]{{43}}{_R}"),
    ("databricks", "databricks-token", rf"{_L}dapi[0-9a-f]{{32}}{_R}"),
    ("private_key", "private-key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    ("putty", "private-key", r"PuTTY-User-Key-File-[0-9]+: "),
    ("jwt", "jwt", rf"{_L}eyJ[A-Za-z0-9_\-]{{5,}}\.eyJ[A-Za-z0-9_\-]{{5,}}\.[A-Za-z0-9_\-]{{10,}}"),
    # Only a secret when the same text also holds a "private_key" field: checked in _token_matches.
    ("gcp", "gcp-service-account", r'"type"\s*:\s*"service_account"'),
    # The value only: the name stays readable in what is stored.
    ("azure", "azure-key", r"(?:Account|SharedAccess)Key=(?P<azure_value>[A-Za-z0-9+/]{20,}={0,2})"),
    ("sas", "azure-sas-signature", r"sig=(?P<sas_value>[A-Za-z0-9%+/]{30,}(?:%3[Dd]|=){0,2})"),
)
_KIND_BY_GROUP = {group: kind for group, kind, _ in _PATTERNS}
_VALUE_GROUPS = {"azure": "azure_value", "sas": "sas_value"}


@functools.cache
def _secret_token() -> re.Pattern[bytes]:
    """The combined pattern, compiled on first use: compiling costs milliseconds at every start-up,
    and most texts never get past the hints."""
    return re.compile("|".join(f"(?P<{group}>{pattern})" for group, _, pattern in _PATTERNS).encode())


# Where a token may start: each is the literal start of a pattern above, so the full pattern is
# anchored at every place one occurs. Found with bytes.find, one pass per literal: Python's regex
# engine tries an alternation at every position whose first character could start one of them (most
# letters), which is several times slower than these passes together.
_HINTS = (
    b"AKIA", b"ASIA", b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_", b"xox", b"hooks.slack",
    b"AIza", b"sk-", b"hf_", b"glpat-", b"k_live_", b"k_test_", b"whsec_", b"npm_", b"pypi-", b"SG.", b"dapi",
    b"-----BEGIN", b"PuTTY-User", b"eyJ", b'"type"', b"AccountKey=", b"SharedAccessKey=", b"sig=",
)
_HINT_BACK = {b"k_live_": 1, b"k_test_": 1}  # the pattern starts this many characters earlier

# The secret's slot after a URL scheme: user:password@ (userinfo holds no "/", "?", "#" or "@").
_URL_PASSWORD = re.compile(rb"://(?P<user>[^\s:/?#@'\"<>{}]*):(?P<password>[^\s/?#@'\"<>{}]+)@")
# Connection strings (ODBC, ADO.NET, JDBC properties): Pwd=...; or ;Password=... . The ';' around
# the pair is required, so Python's ``password=password)`` is not one.
_CONNECTION_PASSWORD = re.compile(rb"(?i)(?:pwd|password|passwd)\s*=\s*(?P<value>\{[^}\n]*\}|[^;\s'\"]+)")
# An AWS secret access key: 40 base64 characters, not part of a longer base64 or base64url run on
# either side (padding only on the right). Runs are found on a translated copy in which every such
# character is "a", so one bytes.find per run replaces a regex attempt at every position.
_BASE64ISH = bytes(ord("a") if chr(c).isascii() and (chr(c).isalnum() or chr(c) in "/+_-") else ord(" ")
                   for c in range(256))
_RUN = b"a" * 40
_AWS_NEAR = 400  # characters between an access key id and its secret key that still pair them
_PLACEHOLDERS = frozenset({"password", "passwd", "pass", "pwd", "secret", "changeme", "yourpassword",
                           "your_password", "mypassword", "my_password", "none", "null", "example"})


def _entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def _random_letters(token: str) -> bool:
    """Letters as a token generator makes them (a mix of cases throughout), not camel-case words."""
    upper = sum(c.isupper() for c in token)
    return 0.25 <= upper / len(token) <= 0.75 and _entropy(token) >= 4.0


def _is_placeholder(value: str) -> bool:
    stripped = value.strip("{}()[]<>$%*'\"")
    return (
        not stripped
        or value[0] in "$<%"
        or (value[0] == "{" and value[1:-1].replace("_", "").isalnum() and value[1:-1].islower())
        or stripped.lower() in _PLACEHOLDERS
        or set(stripped.lower()) <= {"x", "*", "."}
    )


def _hint_positions(data: bytes) -> list[int]:
    positions: list[int] = []
    for literal in _HINTS:
        back = _HINT_BACK.get(literal, 0)
        index = data.find(literal)
        while index >= 0:
            if index >= back:
                positions.append(index - back)
            index = data.find(literal, index + 1)
    positions.sort()
    return positions


def _token_matches(data: bytes) -> Iterator[Found]:
    has_private_key: bool | None = None  # computed once, and only if a service-account type shows up
    pos = 0
    for hint in _hint_positions(data):
        if hint < pos:
            continue
        match = _secret_token().match(data, hint)
        group = match.lastgroup if match is not None else None
        if match is None or group is None:
            continue
        if group == "gcp":
            if has_private_key is None:
                has_private_key = b'"private_key"' in data
            if not has_private_key:
                continue
        if group == "huggingface" and not _random_letters(match.group().decode()[3:]):
            pos = match.end()
            continue
        start, end = match.span(_VALUE_GROUPS[group]) if group in _VALUE_GROUPS else match.span()
        if group in ("private_key", "putty"):
            end = _private_key_end(data, match)
        yield Found(start, end, _KIND_BY_GROUP[group])
        pos = end


def _private_key_end(data: bytes, match: re.Match[bytes]) -> int:
    """The end of the key block (its END line, or the blank line / end of text after it)."""
    if match.group().startswith(b"-----BEGIN"):
        end_marker = b"-----END " + match.group()[len(b"-----BEGIN "):]
        found = data.find(end_marker, match.end())
        if found >= 0:
            return found + len(end_marker)
    blank = data.find(b"\n\n", match.end())
    return blank if blank >= 0 else len(data)


def _url_passwords(data: bytes) -> Iterator[Found]:
    index = data.find(b"://")
    while index >= 0:
        match = _URL_PASSWORD.match(data, index)
        if match is not None:
            password, user = match["password"].decode(), match["user"].decode()
            if not _is_placeholder(password) and password != user:
                yield Found(match.start("password"), match.end("password"), "url-password")
        index = data.find(b"://", index + 3)


def _connection_passwords(data: bytes) -> Iterator[Found]:
    lowered = data.lower()
    for literal in (b"pwd", b"passw"):
        index = lowered.find(literal)
        while index >= 0:
            found = _connection_password_at(data, index)
            if found is not None:
                yield found
            index = lowered.find(literal, index + 1)


def _connection_password_at(data: bytes, index: int) -> Found | None:
    if index > 0 and (chr(data[index - 1]).isalnum() or data[index - 1] == ord("_")):
        return None  # the middle of a longer name
    match = _CONNECTION_PASSWORD.match(data, index)
    if match is None:
        return None
    before = data[max(0, index - 8):index].rstrip()
    after = data[match.end():match.end() + 8].lstrip()
    if not (before.endswith(b";") or after.startswith(b";")):
        return None
    value = match["value"].decode()
    if _is_placeholder(value):
        return None
    return Found(match.start("value"), match.end("value"), "connection-string-password")


def _aws_secret_keys(data: bytes) -> Iterator[Found]:
    """Every free-standing 40-character base64 string with upper, lower case and digits."""
    mapped = data.translate(_BASE64ISH)
    index = mapped.find(_RUN)
    while index >= 0:
        end = mapped.find(b" ", index)
        end = len(data) if end < 0 else end
        if end - index == 40 and data[end:end + 1] != b"=":
            token = data[index:end].decode()
            if ("-" not in token and "_" not in token and any(c.isupper() for c in token)
                    and any(c.islower() for c in token) and any(c.isdigit() for c in token)):
                yield Found(index, end, "aws-secret-key")
        index = mapped.find(_RUN, end)


def _in_base64_block(data: bytes, start: int) -> bool:
    """True when the token starts a line right after a full line of base64 (PEM, MIME bodies)."""
    line_start = data.rfind(b"\n", 0, start) + 1
    if data[line_start:start].strip():
        return False
    previous_end = line_start - 1
    if previous_end <= 0:
        return False
    previous = data[data.rfind(b"\n", 0, previous_end) + 1:previous_end].strip()
    return len(previous) >= 40 and re.fullmatch(rb"[A-Za-z0-9+/=]+", previous) is not None


def _looks_like_path(token: str) -> bool:
    """``com/libgit2/pygit2/blob/master/CHANGELOG``: slash-separated words, not a key."""
    parts = [part for part in token.split("/") if part]
    return len(parts) >= 3 and sum(part.isalpha() and (part.islower() or part.isupper()) for part in parts) >= 2


def _aws_secret_is_key(data: bytes, found: Found, key_ids: list[Found]) -> bool:
    if any(abs(key.start - found.start) <= _AWS_NEAR for key in key_ids):
        return True
    token = data[found.start:found.end].decode()
    if found.start > 0 and data[found.start - 1:found.start] in (b".", b"/", b"\\", b"@", b"%"):
        return False
    return _entropy(token) >= 4.3 and not _looks_like_path(token) and not _in_base64_block(data, found.start)


def scan(text: str) -> list[Found]:
    """Every secret in ``text``, in order of position (overlaps removed, the earlier one kept)."""
    # One byte per character (anything outside ASCII becomes "?"), so offsets are the text's own.
    data = text.encode("ascii") if text.isascii() else text.encode("ascii", "replace")
    tokens = list(_token_matches(data))
    candidates = list(_aws_secret_keys(data))
    # An access key id without a digit is most likely a word (ASIAPACIFICNORTHEAST) unless a
    # secret key stands right beside it.
    key_ids = [found for found in tokens if found.kind == "aws-access-key-id"
               and (any(c in b"0123456789" for c in data[found.start + 4:found.end])
                    or any(abs(s.start - found.start) <= _AWS_NEAR for s in candidates))]
    tokens = [found for found in tokens if found.kind != "aws-access-key-id" or found in key_ids]
    aws_secrets = [found for found in candidates if _aws_secret_is_key(data, found, key_ids)]
    everything = sorted([*tokens, *_url_passwords(data), *_connection_passwords(data), *aws_secrets],
                        key=lambda found: (found.start, -found.end))
    result: list[Found] = []
    for found in everything:
        if result and found.start < result[-1].end:
            continue
        result.append(found)
    return result


SEGMENT_SEPARATOR = b"\0"  # between the texts given to ``segments_to_scan``: no clue of a secret spans it


def segments_to_scan(data: bytes, starts: list[int]) -> set[int]:
    """Which of the texts joined in ``data`` (text ``i`` starts at ``starts[i]``; texts separated by
    ``SEGMENT_SEPARATOR``) ``scan`` could find a secret in: those holding a clue every finding needs
    (a token's hint, ``://``, ``pwd``/``passw`` in any case, 40 base64 characters in a row).

    The rest hold none and need no scan: checking 10,000 small files this way costs a few passes
    over their joined bytes instead of a scan per file. Bytes, not text: decoding only turns
    non-ASCII bytes into ``?``, which is no part of any clue.
    """
    clues: list[int] = []
    for literal in (*_HINTS, b"://"):
        clues.extend(_all_positions(data, literal))
    lowered = data.lower()
    for literal in (b"pwd", b"passw"):  # _connection_passwords' clues
        clues.extend(_all_positions(lowered, literal))
    mapped = data.translate(_BASE64ISH)  # the separator is not base64: runs stop at it
    index = mapped.find(_RUN)
    while index >= 0:
        clues.append(index)
        end = mapped.find(b" ", index)
        index = -1 if end < 0 else mapped.find(_RUN, end)
    return {bisect.bisect_right(starts, clue) - 1 for clue in clues}


def _all_positions(data: bytes, literal: bytes) -> Iterator[int]:
    index = data.find(literal)
    while index >= 0:
        yield index
        index = data.find(literal, index + 1)


def find_secret_kind(text: str) -> str | None:
    """The kind of the first secret-looking token in ``text`` ("github-token" ...), or None."""
    found = scan(text)
    return found[0].kind if found else None


def find_secrets(text: str) -> list[tuple[int, str]]:
    """(1-based line number, kind) of every secret-looking token in ``text``."""
    result: list[tuple[int, str]] = []
    line, counted_to = 1, 0
    for found in scan(text):
        line += text.count("\n", counted_to, found.start)
        counted_to = found.start
        result.append((line, found.kind))
    return result


def looks_like_secret_value(value: str) -> bool:
    """True when ``value`` contains a token in a known secret format."""
    return bool(scan(value))


def redact_text(text: str) -> tuple[str, list[str]]:
    """``text`` with every secret replaced by ``<redacted:KIND>``, and the kinds replaced."""
    found = scan(text)
    if not found:
        return text, []
    parts: list[str] = []
    last = 0
    for item in found:
        parts.append(text[last:item.start])
        parts.append(redaction_marker(item.kind))
        last = item.end
    parts.append(text[last:])
    return "".join(parts), [item.kind for item in found]


def redact_bytes(data: bytes) -> tuple[bytes, list[str]]:
    """Like ``redact_text`` for bytes that may not be UTF-8: every other byte is kept as it was."""
    text = data.decode("utf-8", "surrogateescape")
    redacted, kinds = redact_text(text)
    return (redacted.encode("utf-8", "surrogateescape"), kinds) if kinds else (data, [])


class StreamScanner:
    """Find secrets in a stream of byte chunks of any total size, holding a bounded window.

    Each window is scanned whole; only matches starting before its last ``overlap`` characters are
    reported, and the next window starts there, so a token cut by a chunk boundary is still found
    once (tokens are far shorter than the overlap).
    """

    def __init__(self, window: int = 4 * 1024 * 1024, overlap: int = 8192) -> None:
        self.window, self.overlap = window, overlap
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._buffer = ""
        self._line = 1  # line number at the start of the buffer
        self.found: list[tuple[int, str]] = []
        self.digests: list[str] = []  # a hash of each found secret, in the order of ``found``

    def feed(self, chunk: bytes) -> None:
        self._buffer += self._decoder.decode(chunk)
        if len(self._buffer) >= self.window:
            self._scan(final=False)

    def close(self) -> list[tuple[int, str]]:
        self._buffer += self._decoder.decode(b"", final=True)
        self._scan(final=True)
        return self.found

    def _scan(self, final: bool) -> None:
        text = self._buffer
        cut = len(text) if final else max(len(text) - self.overlap, 0)
        line, counted_to = self._line, 0
        for found in scan(text):
            if found.start >= cut:
                break
            line += text.count("\n", counted_to, found.start)
            counted_to = found.start
            self.found.append((line, found.kind))
            self.digests.append(hashlib.blake2b(text[found.start:found.end].encode("utf-8", "replace"),
                                                digest_size=16).hexdigest())
        self._line += text.count("\n", 0, cut)
        self._buffer = text[cut:]


def scan_chunks(chunks: Iterable[bytes]) -> list[tuple[int, str]]:
    """(line, kind) of every secret in the concatenation of ``chunks``, read one window at a time."""
    scanner = StreamScanner()
    for chunk in chunks:
        scanner.feed(chunk)
    return scanner.close()


# --- names -----------------------------------------------------------------------------------------

# Parts of a variable or argument name that mark its value as secret, matched anywhere in the
# upper-cased name with "-", "." and camel case turned into "_". The lookaheads exclude common
# harmless names (TOKENIZERS_PARALLELISM, KEYBOARD, GIT_AUTHOR_NAME, BYPASS, OLDPWD) while keeping
# AUTHORIZATION. A PASSWORD name hides any value; a KEY name (an API key, but also a sort key, a
# pad token, a connection count) hides a value only where it looks like a credential.
_PASSWORD_NAME = re.compile(
    r"SECRET|PASSWORD|PASSWD|PASSPHRASE|(?<!^)(?<!^OLD)PWD|^PWD.|(?:^|_)PASS(?:$|_)|CREDENTIAL"
)
_KEY_NAME = re.compile(
    r"TOKEN(?!IZ)|KEY(?!BOARD|MAP)|AUTH(?!OR(?!IZ))|PRIVATE|(?:^|_)CONN(?:$|_|ECTION(?!S))|(?:^|_)DSN$"
)
SECRET_NAME_PARTS = (_PASSWORD_NAME.pattern, _KEY_NAME.pattern)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _normal_name(name: str) -> str:
    return _CAMEL.sub("_", name.strip("-+")).upper().replace("-", "_").replace(".", "_")


def secret_name_strength(name: str) -> str | None:
    """"password" when the name says any value is secret (``DB_PASS``, ``clientSecret``), "key" when a
    credential-looking value is (``API_KEY``, ``HF_TOKEN``, ``*_CONN*``), None otherwise."""
    normal = _normal_name(name)
    if _PASSWORD_NAME.search(normal):
        return "password"
    if _KEY_NAME.search(normal):
        return "key"
    return None


def is_secret_env_name(name: str) -> bool:
    """True when the variable's name says its value is a secret (``*TOKEN*``, ``*_KEY``, ``*PWD*``...)."""
    return secret_name_strength(name) is not None


_CREDENTIAL_SHAPE = re.compile(r"[A-Za-z0-9+/=_\-.~:;@!#$%^&*]{12,}")


def looks_like_credential(value: str) -> bool:
    """A string that could be a key or token: long, no spaces, letters and digits, not a path."""
    if _CREDENTIAL_SHAPE.fullmatch(value) is None or value.startswith(("/", "./", "~")):
        return False
    if "=" in value and ";" in value:
        return True  # a connection string
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value) and _entropy(value) >= 3.0


def is_placeholder(value: str) -> bool:
    """``${DB_PASSWORD}``, ``$TOKEN``, ``<your key>``, ``***``: a reference to a secret, not one."""
    return _is_placeholder(value) if value else True


# --- files -----------------------------------------------------------------------------------------

# Files that hold secrets by convention, by base name (lower-cased). Public keys (*.pub) are not
# secret, so id_rsa.pub is not matched although id_rsa is. *.pem, *.key and *.crt are judged by
# their content (a CA bundle or a certificate is public; a private key block is not).
_SECRET_FILE_PATTERNS = (
    ".env",
    ".env.*",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    "_netrc",
    ".pgpass",
    ".pypirc",
    ".npmrc",
    ".git-credentials",
    "*credentials*.json",
    "service-account*.json",
    "client_secret*.json",
    "secrets.toml",
    "secrets.yaml",
    "secrets.yml",
    "secrets.json",
)
# Templates that document which variables to set, committed on purpose and holding no values.
_ENV_TEMPLATES = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})


_SECRET_FILE_NAME = re.compile("|".join(f"(?:{fnmatch.translate(pattern)})" for pattern in _SECRET_FILE_PATTERNS))


def is_secret_file_name(path: str) -> str | None:
    """The reason ``path``'s base name looks like a secret file, e.g. "secret file name (.env)"."""
    name = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()
    if name in _ENV_TEMPLATES or name.endswith(".pub") or _SECRET_FILE_NAME.match(name) is None:
        return None  # one regex for all patterns: a snapshot asks this for every new file
    for pattern in _SECRET_FILE_PATTERNS:
        if fnmatch.fnmatchcase(name, pattern):
            return f"secret file name ({pattern})"
    return None


# A literal every matching base name holds (each pattern's longest piece without wildcards): a path
# without any of them cannot match, so ``secret_file_names`` asks ``is_secret_file_name`` only for
# the few paths that hold one.
_NAME_LITERALS = tuple(sorted({max(re.split(r"\*|\?|\[[^\]]*\]", pattern), key=len)
                               for pattern in _SECRET_FILE_PATTERNS}))


def secret_file_names(paths: list[str]) -> dict[str, str]:
    """``is_secret_file_name`` for many paths at once: {path: reason} for the paths it flags.

    A snapshot asks this for every untracked file; a few ``str.find`` passes over all the names
    joined cost far less than a regex match per name (100,000 files: ~0.5 s -> ~0.05 s).
    """
    lowered = "\0".join(paths).lower()  # lower() never adds or removes a "\0": the i-th piece is paths[i]
    starts = list(itertools.accumulate((len(piece) + 1 for piece in lowered.split("\0")), initial=0))
    suspects: set[int] = set()
    for literal in _NAME_LITERALS:
        index = lowered.find(literal)
        while index >= 0:
            suspects.add(bisect.bisect_right(starts, index) - 1)
            index = lowered.find(literal, index + 1)
    found: dict[str, str] = {}
    for number in sorted(suspects):
        reason = is_secret_file_name(paths[number])
        if reason:
            found[paths[number]] = reason
    return found


def secret_file_reason(path: str, data: bytes) -> str | None:
    """Why a file must not be stored: its name, or the secret its content holds; None when it may."""
    reason = is_secret_file_name(path)
    if reason:
        return reason
    kind = find_secret_kind(data.decode("utf-8", "replace"))
    return f"content looks like a secret ({kind})" if kind else None


# --- URLs and environments -------------------------------------------------------------------------

# scheme://userinfo@ — userinfo cannot contain "/", "?", "#" or "@", so an "@" in a path is safe.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/?#@\s]*)@")


def _strip_userinfo(match: re.Match[str]) -> str:
    scheme, userinfo = match["scheme"], match["userinfo"]
    # An ssh user name ("git@") is needed to connect and is not secret; only a password is.
    if "ssh" in scheme.lower():
        user = userinfo.split(":", 1)[0]
        return f"{scheme}{user}@" if user else scheme
    return scheme


def strip_url_credentials(url: str) -> str:
    """Drop user and password from every URL in ``url``: ``https://u:<token>@host/x`` -> ``https://host/x``.

    scp-style ``git@host:x.git`` and ssh user names are kept; other strings come back unchanged.
    """
    if "@" not in url:
        return url
    return _URL_USERINFO.sub(_strip_userinfo, url)


def redact_env(env: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The environment as it may be recorded, and the sorted names whose values were hidden.

    A value is replaced by ``REDACTED`` when its name says it is secret or it holds a secret
    (token, connection-string password, AWS secret key); URLs with embedded credentials keep
    everything but the credentials.
    """
    recorded: dict[str, str] = {}
    redacted: list[str] = []
    for name, value in env.items():
        if is_secret_env_name(name) or any(found.kind != "url-password" for found in scan(value)):
            recorded[name] = REDACTED
            redacted.append(name)
            continue
        stripped = strip_url_credentials(value)
        if stripped != value:
            redacted.append(name)
        recorded[name] = stripped
    return recorded, sorted(redacted)
