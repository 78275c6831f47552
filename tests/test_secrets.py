"""Secret detection: every token format, and the ordinary text that must not look secret.

Test tokens are assembled at run time so that this file itself holds no secret-shaped literal
(neither gitrun's own diff scan nor a forge's push protection should trip on it).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from gitrun.model import secrets
from gitrun.model.redaction import redact_argv, redact_document
from gitrun.model.secrets import (
    REDACTED,
    StreamScanner,
    find_secret_kind,
    find_secrets,
    is_secret_env_name,
    is_secret_file_name,
    looks_like_secret_value,
    redact_bytes,
    redact_env,
    redact_text,
    scan,
    secret_file_reason,
    secret_name_strength,
    strip_url_credentials,
)
from tests.secret_corpus import Fakes, ca_bundle, clean_samples, secret_samples

PACKAGE = Path(secrets.__file__).resolve().parents[1]

TOKENS = [
    ("aws-access-key-id", "AKIA" + "ABCDEFGH23456789"),
    ("aws-access-key-id", "ASIA" + "Z2345678ABCDEFGH"),
    ("github-token", "ghp" + "_" + "a1B2c3D4e5" * 4),
    ("github-token", "gho" + "_" + "Zz9" * 12),
    ("github-token", "github" + "_pat_" + "11ABCDEFG0" * 3 + "_" + "x7" * 10),
    ("slack-token", "xox" + "b-" + "1234567890-1234567890-abcdefABCDEF"),
    ("google-api-key", "AI" + "za" + "Sy" + "A" * 10 + "b" * 10 + "-_" + "c9" * 5 + "d"),
    ("openai-key", "sk" + "-" + "abc123XYZ" * 5),
    ("openai-key", "sk" + "-proj-" + "Ab3_" * 10),
    ("anthropic-key", "sk" + "-ant-api03-" + "Ab3-" * 20),
    ("huggingface-token", "hf" + "_" + "QxTbWmRkJcPzLnVyHdGsAfEuKoIwMqXe" + "bN"),
    ("gitlab-token", "gl" + "pat-" + "xY7_-" * 4),
    ("stripe-key", "sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc"),
    ("stripe-key", "rk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc"),
    ("npm-token", "npm" + "_" + "a1" * 18),
    ("private-key", "-----BEGIN " + "PRIVATE KEY-----"),
    ("private-key", "-----BEGIN " + "RSA PRIVATE KEY-----"),
    ("private-key", "-----BEGIN " + "OPENSSH PRIVATE KEY-----"),
    ("private-key", "-----BEGIN " + "PGP PRIVATE KEY BLOCK-----"),
    ("jwt", "ey" + "JhbGciOiJIUzI1NiJ9.ey" + "JzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
]


@pytest.mark.parametrize(("kind", "token"), TOKENS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(TOKENS)])
def test_each_token_format_is_found_in_context(kind: str, token: str) -> None:
    for text in (token, f"export VALUE={token}\n", f'api = Client("{token}")', f"{token}\nmore"):
        assert find_secret_kind(text) == kind, text
    assert looks_like_secret_value(token)


@pytest.mark.parametrize(("kind", "token"), TOKENS[:14], ids=[k for k, _ in TOKENS[:14]])
def test_a_token_inside_a_longer_identifier_does_not_count(kind: str, token: str) -> None:
    assert find_secret_kind("x" + token) is None


def test_gcp_service_account_needs_a_private_key_field() -> None:
    kind = '"type": "service' + '_account"'
    account = "{\n  " + kind + ',\n  "project_id": "demo",\n  "private_key": "elided"\n}'
    assert find_secret_kind(account) == "gcp-service-account"
    assert find_secrets(account) == [(2, "gcp-service-account")]
    assert find_secret_kind("{" + kind + ', "project_id": "demo"}') is None


@pytest.mark.parametrize(
    "text",
    [
        "sk-learn-compatible-pipeline-2",
        "risk-assessment-2024-quarterly-report-v2",
        "task-1234567890abcdefghijklmnopqrstuvwxyz",
        "hf_hub_download",
        "AKIA is a prefix",
        "eyJhbGciOiJIUzI1NiJ9",
        '{"type": "module"}',
        "-----BEGIN PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----",
    ],
)
def test_near_misses_are_not_secrets(text: str) -> None:
    assert find_secret_kind(text) is None


def test_ordinary_code_hashes_and_ids_are_not_secrets() -> None:
    sources = [path.read_text() for path in sorted(PACKAGE.rglob("*.py"))]
    assert len(sources) > 3
    for source in sources:
        assert find_secrets(source) == []
    for value in (
        str(uuid.uuid4()),
        uuid.uuid4().hex,
        "3f786850e387550fdab836ed7e6dc881de23001b",  # a git sha
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # sha256
        "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",  # a wheel RECORD hash
        "/home/ada/.cache/huggingface/hub/models--bert-base-uncased",
    ):
        assert not looks_like_secret_value(value), value


def test_find_secrets_reports_every_match_with_its_line() -> None:
    aws, npm = TOKENS[0][1], TOKENS[14][1]
    text = f"first line\nkey = {aws}\nnothing\n\n{npm} and {aws}\n"
    assert find_secrets(text) == [(2, "aws-access-key-id"), (5, "npm-token"), (5, "aws-access-key-id")]
    assert find_secrets("") == []


def test_scanning_megabytes_is_fast() -> None:
    source = (PACKAGE / "model" / "secrets.py").read_text()
    text = source * (4_000_000 // len(source) + 1) + TOKENS[2][1]
    start = time.perf_counter()
    found = find_secrets(text)
    elapsed = time.perf_counter() - start
    assert [kind for _, kind in found] == ["github-token"]
    assert elapsed < 2.0, f"{len(text) / 1e6:.1f} MB took {elapsed:.2f} s"


@pytest.mark.parametrize(
    "name",
    [
        "MY_API_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "WANDB_API_KEY",
        "api_key",
        "DB_PASSWORD",
        "PGPASSWD",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "NPM_CONFIG__AUTH",
        "HTTP_AUTHORIZATION",
        "BASIC_AUTH_USER",
        "GPG_PRIVATE",
        "HF_TOKEN",
    ],
)
def test_secret_env_names(name: str) -> None:
    assert is_secret_env_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "PATH",
        "HOME",
        "GIT_AUTHOR_NAME",
        "AUTHORS",
        "TOKENIZERS_PARALLELISM",
        "KEYBOARD_LAYOUT",
        "XKB_KEYMAP",
        "PWD",
    ],
)
def test_harmless_env_names(name: str) -> None:
    assert not is_secret_env_name(name)


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        "config/.env.local",
        ".ENV.production",
        "store.p12",
        "store.pfx",
        "app.jks",
        "release.keystore",
        "/home/ada/.ssh/id_rsa",
        "id_ed25519",
        "id_ecdsa_sk",
        ".netrc",
        "_netrc",
        ".pgpass",
        ".pypirc",
        ".npmrc",
        ".git-credentials",
        "credentials.json",
        "gcp-credentials-prod.json",
        "service-account-prod.json",
        "client_secret_123.apps.json",
        "secrets.toml",
        "deploy/secrets.yaml",
        "secrets.yml",
        "secrets.json",
        "C:\\Users\\ada\\.env",
    ],
)
def test_secret_file_names(path: str) -> None:
    reason = is_secret_file_name(path)
    assert reason is not None and reason.startswith("secret file name (")


def test_secret_file_reason_names_the_pattern() -> None:
    assert is_secret_file_name("project/.env") == "secret file name (.env)"
    assert is_secret_file_name("a/b/server.pem") is None  # judged by its content: certificates are public


@pytest.mark.parametrize(
    "path",
    [
        ".env.example",
        ".env.sample",
        ".env.template",
        ".env.dist",
        "environment.py",
        "keys.py",
        "secrets.py",
        "id_rsa.pub",
        "tokenizer.json",
        "config.json",
        "README.md",
        ".envrc.d/readme",
    ],
)
def test_ordinary_file_names(path: str) -> None:
    assert is_secret_file_name(path) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:tok@host/x.git", "https://host/x.git"),
        ("https://tok@host", "https://host"),
        ("git+https://oauth2:abc@gitlab.com/g/p.git@v1", "git+https://gitlab.com/g/p.git@v1"),
        ("git@host:x.git", "git@host:x.git"),
        ("ssh://git@host/x.git", "ssh://git@host/x.git"),
        ("ssh://git:pw@host/x.git", "ssh://git@host/x.git"),
        ("https://host/pkg@1.0", "https://host/pkg@1.0"),
        ("https://host/x?email=a@b.c", "https://host/x?email=a@b.c"),
        ("ada@example.com", "ada@example.com"),
        ("not a url", "not a url"),
    ],
)
def test_strip_url_credentials(url: str, expected: str) -> None:
    assert strip_url_credentials(url) == expected


def test_redact_env_by_name_by_value_and_url_credentials() -> None:
    aws = TOKENS[0][1]
    env = {
        "MY_API_TOKEN": "abc",
        "HARMLESS": aws,
        "PIP_INDEX_URL": "https://ada:pw@pypi.example.com/simple",
        "TOKENIZERS_PARALLELISM": "false",
        "PATH": "/usr/bin:/bin",
    }
    recorded, redacted = redact_env(env)
    assert recorded == {
        "MY_API_TOKEN": REDACTED,
        "HARMLESS": REDACTED,
        "PIP_INDEX_URL": "https://pypi.example.com/simple",
        "TOKENIZERS_PARALLELISM": "false",
        "PATH": "/usr/bin:/bin",
    }
    assert redacted == ["HARMLESS", "MY_API_TOKEN", "PIP_INDEX_URL"]
    assert env["MY_API_TOKEN"] == "abc"  # the input is not modified


# --- the generated corpora ---------------------------------------------------------------------------

def test_every_fake_secret_in_the_corpus_is_found_and_redacted() -> None:
    """Zero leaks: each secret, in each context (code, .env, YAML, JSON, shell, log, argv), is
    found with its kind and is gone from the redacted text."""
    samples = list(secret_samples())
    assert len(samples) > 900
    leaks = []
    for kind, secret, text in samples:
        redacted, kinds = redact_text(text)
        if kind not in kinds or (kind != "gcp-service-account" and secret in redacted):
            leaks.append((kind, text[:80]))
    assert leaks == []


def test_the_clean_corpus_raises_no_alarm() -> None:
    """Zero false positives: ML code, configs, model cards, CA bundles, public keys, hashes, ids."""
    alarms = []
    for name, text in clean_samples():
        alarms += [(name, found.kind, text[found.start:found.end][:40]) for found in scan(text)]
        reason = secret_file_reason(name, text.encode())
        if reason:
            alarms.append((name, "file", reason))
    assert alarms == []


@pytest.mark.parametrize(
    "text",
    [
        "region = ASIAPACIFICNORTHEAST",
        "model = 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",
        "xoxo-" + "see-you-at-the-offsite-2024",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        "password=args.password",
        "url = f'postgresql://{user}:{password}@{host}/db'",
        "DATABASE_URL: postgresql://${DB_USER}:${DB_PASSWORD}@db/runs",
        "Server=db;Uid=ada;Pwd=${DB_PASSWORD};",
        "https://github.com/libgit2/pygit2/blob/master/CHANGELOG.md",
        "postgres://user:password@localhost/db",  # the documentation placeholder
    ],
)
def test_the_false_alarms_users_met_are_gone(text: str) -> None:
    assert scan(text) == []


def test_a_ca_bundle_or_a_key_file_without_a_private_key_is_not_a_secret_file() -> None:
    assert secret_file_reason("certs/ca-bundle.pem", ca_bundle().encode()) is None
    assert secret_file_reason("license.key", b"holder = Example Lab\n") is None
    key = Fakes(1).private_key()
    assert secret_file_reason("certs/server.pem", key.encode()) == "content looks like a secret (private-key)"
    assert secret_file_reason("deploy/id_ed25519", b"whatever") == "secret file name (id_ed25519*)"


def test_an_aws_secret_key_is_found_under_a_neutral_name_and_next_to_its_id() -> None:
    fake = Fakes(7)
    secret = fake.aws_secret()
    assert find_secret_kind(f'cfg = "{secret}"') == "aws-secret-key"
    wordy_id = "AKIA" + "QWERTYUIOPASDFGH"  # no digit: alone it reads as a word
    assert find_secret_kind(f"id = {wordy_id}") is None
    assert [f.kind for f in scan(f"id = {wordy_id}\nkey = {secret}\n")] == ["aws-access-key-id", "aws-secret-key"]


def test_redaction_replaces_only_the_secret() -> None:
    password = "s3cr3t-" + "Pw0rd"
    text = f"Server=db;Uid=ada;Pwd={password};Encrypt=yes"
    assert redact_text(text) == ("Server=db;Uid=ada;Pwd=<redacted:connection-string-password>;Encrypt=yes",
                                 ["connection-string-password"])
    url = f"https://ada:{password}@git.example.com/x.git"
    assert redact_text(url)[0] == "https://ada:<redacted:url-password>@git.example.com/x.git"
    key = Fakes(3).private_key()
    assert redact_text(f"before\n{key}\nafter")[0] == "before\n<redacted:private-key>\nafter"
    raw = b"\xff\xfe token " + TOKENS[2][1].encode() + b" \xff"
    assert redact_bytes(raw) == (b"\xff\xfe token <redacted:github-token> \xff", ["github-token"])


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_a_stream_finds_every_secret_once_whatever_the_chunk_size(chunk: int) -> None:
    token = TOKENS[2][1]
    text = ("x = 1\n" * 20_000 + f"t = '{token}'\n") * 3
    data = text.encode()
    scanner = StreamScanner(window=64 * 1024, overlap=1024)
    for start in range(0, len(data), chunk):
        scanner.feed(data[start:start + chunk])
    assert scanner.close() == find_secrets(text) == [(20_001, "github-token"), (40_002, "github-token"),
                                                      (60_003, "github-token")]


# --- names, command lines, parameters, documents -----------------------------------------------------

@pytest.mark.parametrize(
    ("name", "strength"),
    [("DB_PASS", "password"), ("MYSQL_PWD", "password"), ("clientSecret", "password"), ("db-password", "password"),
     ("AZURE_STORAGE_CONNECTION_STRING", "key"), ("DB_CONN", "key"), ("api-key", "key"), ("hf_token", "key"),
     ("PWD", None), ("OLDPWD", None), ("BYPASS", None), ("NUM_PASSES", None), ("MAX_CONNECTIONS", None),
     ("TOKENIZERS_PARALLELISM", None), ("lr", None)],
)
def test_secret_names_and_how_sure_they_are(name: str, strength: str | None) -> None:
    assert secret_name_strength(name) == strength


def test_a_command_line_keeps_its_names_and_loses_its_secrets() -> None:
    openai, github = TOKENS[7][1], TOKENS[2][1]
    argv = ["python", "train.py", "--api-key", openai, f"--token={github}", "--db-password", "hunter2",
            "--pad-token", "[PAD]", "--max-tokens", "4096", "--sort-key", "date", "db.pass=hunter2",
            "-c", f"print('{github}')", "--lr", "0.1"]
    stored, found = redact_argv(argv)
    assert stored == ["python", "train.py", "--api-key", "<redacted:openai-key>", "--token=<redacted:github-token>",
                      "--db-password", "<redacted:secret>", "--pad-token", "[PAD]", "--max-tokens", "4096",
                      "--sort-key", "date", "db.pass=<redacted:secret>", "-c", "print('<redacted:github-token>')",
                      "--lr", "0.1"]
    assert found == [("--api-key", "openai-key"), ("--token", "github-token"), ("--db-password", "secret"),
                     ("db.pass", "secret"), ("-c", "github-token")]


def test_redact_document_hides_secrets_everywhere_and_lists_them_once() -> None:
    github = TOKENS[2][1]
    doc = {"command": ["train", "--key", github], "message": f"try {github}",
           "params": {"db.password": "hunter2", "lr": 0.1, "optimizer.api_key": "Zq81vX0pLm3wTr5y"},
           "env": {"vars": {"ODD": f"x {github}"}}, "tags": ["a"]}
    added = redact_document(doc)
    assert doc["command"] == ["train", "--key", "<redacted:github-token>"]
    assert doc["message"] == "try <redacted:github-token>"
    assert doc["params"] == {"db.password": "<redacted:secret>", "lr": 0.1, "optimizer.api_key": "<redacted:secret>"}
    assert doc["env"]["vars"]["ODD"] == "x <redacted:github-token>"
    assert len(added) == 5 and doc["redacted"] == added
    assert redact_document(doc) == [] and doc["redacted"] == added  # idempotent


def test_redact_document_survives_a_deeply_nested_pulled_note() -> None:
    github = TOKENS[2][1]
    deep: dict[str, object] = {"leaf": github}
    for _ in range(5000):
        deep = {"x": deep}
    doc = {"message": "m", "extra": deep}
    assert [entry["kind"] for entry in redact_document(doc)] == ["github-token"]
