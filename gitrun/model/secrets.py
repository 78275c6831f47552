"""What looks like a secret: environment variable names, token formats, file names, URL credentials.

Pure functions, no I/O: every layer uses them to keep secrets out of what a run records (environment
variables, remote URLs) and later to scan diffs and logs before they are stored or pushed.

Only formats with a distinctive prefix or shape are recognised, so that ordinary code, hashes and
UUIDs never trip them: a false alarm that blocks a push is costly, and a generic "high entropy"
test would fire on every git sha.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping

REDACTED = "<redacted>"

# Parts of an environment variable name that mark its value as secret. Each is a regex fragment
# matched anywhere in the upper-cased name; the lookaheads exclude common harmless names
# (TOKENIZERS_PARALLELISM, KEYBOARD, GIT_AUTHOR_NAME) while keeping AUTHORIZATION.
SECRET_NAME_PARTS = (
    r"TOKEN(?!IZ)",
    r"SECRET",
    r"PASSWORD",
    r"PASSWD",
    r"KEY(?!BOARD|MAP)",
    r"CREDENTIAL",
    r"AUTH(?!OR(?!IZ))",
    r"PRIVATE",
)
_SECRET_NAME = re.compile("|".join(SECRET_NAME_PARTS))

# A token must not be glued to more token characters on its left, so that the middle of a longer
# identifier, hash or base64 blob does not count.
_L = r"(?<![A-Za-z0-9_\-])"
_R = r"(?![A-Za-z0-9_\-])"

# (group name, kind, pattern). Group names must be identifiers; kinds are what callers see.
_PATTERNS: tuple[tuple[str, str, str], ...] = (
    ("aws", "aws-access-key-id", rf"{_L}(?:AKIA|ASIA)[0-9A-Z]{{16}}{_R}"),
    ("github", "github-token", rf"{_L}gh[pousr]_[A-Za-z0-9]{{36,}}{_R}"),
    ("github_pat", "github-token", rf"{_L}github_pat_[A-Za-z0-9_]{{22,}}{_R}"),
    ("slack", "slack-token", rf"{_L}xox[abposr]-[A-Za-z0-9-]{{10,}}"),
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
    ("stripe", "stripe-key", rf"{_L}(?:sk|rk)_live_[A-Za-z0-9]{{16,}}"),
    ("npm", "npm-token", rf"{_L}npm_[A-Za-z0-9]{{36}}{_R}"),
    ("private_key", "private-key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    ("jwt", "jwt", rf"{_L}eyJ[A-Za-z0-9_\-]{{5,}}\.eyJ[A-Za-z0-9_\-]{{5,}}\.[A-Za-z0-9_\-]{{10,}}"),
    # Only a secret when the same text also holds a "private_key" field: checked in _matches.
    ("gcp", "gcp-service-account", r'"type"\s*:\s*"service_account"'),
)
_KIND_BY_GROUP = {group: kind for group, kind, _ in _PATTERNS}


@functools.cache
def _secret_token() -> re.Pattern[str]:
    """The combined pattern, compiled on first use: compiling costs milliseconds at every start-up,
    and most texts never get past the prefilter."""
    return re.compile("|".join(f"(?P<{group}>{pattern})" for group, _, pattern in _PATTERNS))


# Python's regex engine has no fast scan for an alternation of groups, but it has one for an
# alternation of plain literals: this cheap search finds candidate positions in large texts.
_PREFILTER = re.compile(
    r"AKIA|ASIA|gh[pousr]_|github_pat_|xox|AIza|sk-|hf_|glpat-|sk_live_|rk_live_|npm_|-----BEGIN|eyJ"
    r'|"type"'
)


def is_secret_env_name(name: str) -> bool:
    """True when the variable's name says its value is a secret (``*TOKEN*``, ``*_KEY`` ...)."""
    return _SECRET_NAME.search(name.upper()) is not None


def _matches(text: str) -> list[tuple[int, str]]:
    """(offset, kind) of every secret token, trying the full pattern only at prefilter hits.

    Every prefilter literal is the start of its token, so the full pattern is anchored there.
    """
    found: list[tuple[int, str]] = []
    has_private_key: bool | None = None  # computed once, and only if a service-account type shows up
    pos = 0
    while (hint := _PREFILTER.search(text, pos)) is not None:
        match = _secret_token().match(text, hint.start())
        group = match.lastgroup if match is not None else None
        if group == "gcp" and has_private_key is None:
            has_private_key = '"private_key"' in text
        if match is None or group is None or (group == "gcp" and not has_private_key):
            pos = hint.start() + 1
            continue
        found.append((match.start(), _KIND_BY_GROUP[group]))
        pos = match.end()
    return found


def find_secret_kind(text: str) -> str | None:
    """The kind of the first secret-looking token in ``text`` ("github-token" ...), or None."""
    found = _matches(text)
    return found[0][1] if found else None


def find_secrets(text: str) -> list[tuple[int, str]]:
    """(1-based line number, kind) of every secret-looking token in ``text``."""
    result: list[tuple[int, str]] = []
    line, counted_to = 1, 0
    for offset, kind in _matches(text):
        line += text.count("\n", counted_to, offset)
        counted_to = offset
        result.append((line, kind))
    return result


def looks_like_secret_value(value: str) -> bool:
    """True when ``value`` contains a token in a known secret format."""
    return find_secret_kind(value) is not None


# Files that hold secrets by convention, by base name (lower-cased). Public keys (*.pub) are not
# secret, so id_rsa.pub is not matched although id_rsa is.
_SECRET_FILE_PATTERNS = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
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


def is_secret_file_name(path: str) -> str | None:
    """The reason ``path``'s base name looks like a secret file, e.g. "secret file name (.env)"."""
    name = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()
    if name in _ENV_TEMPLATES or name.endswith(".pub"):
        return None
    for pattern in _SECRET_FILE_PATTERNS:
        if fnmatch.fnmatchcase(name, pattern):
            return f"secret file name ({pattern})"
    return None


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
    """Drop user and password from every URL in ``url``: ``https://u:tok@host/x`` -> ``https://host/x``.

    scp-style ``git@host:x.git`` and ssh user names are kept; other strings come back unchanged.
    """
    if "@" not in url:
        return url
    return _URL_USERINFO.sub(_strip_userinfo, url)


def redact_env(env: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The environment as it may be recorded, and the sorted names whose values were hidden.

    A value is replaced by ``REDACTED`` when its name says it is secret or it contains a known
    token format; URLs with embedded credentials keep everything but the credentials.
    """
    recorded: dict[str, str] = {}
    redacted: list[str] = []
    for name, value in env.items():
        if is_secret_env_name(name) or looks_like_secret_value(value):
            recorded[name] = REDACTED
            redacted.append(name)
            continue
        stripped = strip_url_credentials(value)
        if stripped != value:
            redacted.append(name)
        recorded[name] = stripped
    return recorded, sorted(redacted)
