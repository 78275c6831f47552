"""Generated corpora for the secret detector: realistic fake secrets, and ordinary text that is not.

Every secret is built at run time from its published format with a seeded random generator, so
this file holds no secret-shaped literal (neither gitrun's own scan nor a forge's push protection
trips on it) and the corpus is the same on every machine. ``secret_samples`` yields (kind, secret,
text holding it); ``clean_samples`` yields (name, text) of ML code, configs, model cards, CA
bundles and other files that must raise no alarm.
"""

from __future__ import annotations

import base64
import json
import random
import string
import urllib.parse
import uuid
from collections.abc import Iterator

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
BASE32 = string.ascii_uppercase + "234567"
HEX = "0123456789abcdef"


class Fakes:
    """Fake secrets in each vendor's format (length, alphabet, prefix), from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def openai(self) -> str:
        return "sk" + "-" + self.chars(ALNUM, 48)

    def openai_project(self) -> str:
        return "sk" + "-proj-" + self.chars(B64URL, 156)

    def anthropic(self) -> str:
        return "sk" + "-ant-api03-" + self.chars(B64URL, 93) + "AA"

    def github(self) -> str:
        return "gh" + self.rng.choice("pousr") + "_" + self.chars(ALNUM, 36)

    def github_pat(self) -> str:
        return "github" + "_pat_" + "11" + self.chars(BASE32, 20) + "_" + self.chars(ALNUM, 59)

    def huggingface(self) -> str:
        return "hf" + "_" + self.chars(string.ascii_letters, 34)

    def aws_key_id(self) -> str:
        # Real ids are base32; one without any digit is a word as far as the detector can tell
        # (ASIAPACIFICNORTHEAST), so it counts only beside its secret key (see the paired samples).
        while True:
            body = self.chars(BASE32, 16)
            if any(c.isdigit() for c in body):
                return self.rng.choice(["AK", "AS"]) + "IA" + body

    def aws_secret(self) -> str:
        while True:
            key = self.chars(B64, 40)
            if any(c.isdigit() for c in key) and any(c.isupper() for c in key) and any(c.islower() for c in key):
                return key

    def slack_bot(self) -> str:
        return "xox" + "b-" + self.chars(string.digits, 12) + "-" + self.chars(string.digits, 13) + "-" + \
            self.chars(ALNUM, 24)

    def slack_user(self) -> str:
        return "xox" + "p-" + "-".join(self.chars(string.digits, 12) for _ in range(3)) + "-" + self.chars(HEX, 32)

    def slack_webhook(self) -> str:
        return ("https://hooks" + ".slack.com/services/T" + self.chars(BASE32, 10) + "/B" + self.chars(BASE32, 10)
                + "/" + self.chars(ALNUM, 24))

    def stripe(self) -> str:
        return self.rng.choice(["sk", "rk"]) + "_" + self.rng.choice(["live", "test"]) + "_" + self.chars(ALNUM, 99)

    def google(self) -> str:
        return "AI" + "za" + self.chars(B64URL, 35)

    def gitlab(self) -> str:
        return "gl" + "pat-" + self.chars(B64URL, 20)

    def npm(self) -> str:
        return "npm" + "_" + self.chars(ALNUM, 36)

    def pypi(self) -> str:
        return "pypi" + "-AgEIcHlwaS5vcmc" + self.chars(B64URL, 150)

    def sendgrid(self) -> str:
        return "SG" + "." + self.chars(B64URL, 22) + "." + self.chars(B64URL, 43)

    def databricks(self) -> str:
        return "da" + "pi" + self.chars(HEX, 32)

    def jwt(self) -> str:
        def part(data: dict[str, object]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

        signature = base64.urlsafe_b64encode(self.rng.randbytes(32)).decode().rstrip("=")
        return part({"alg": "HS256", "typ": "JWT"}) + "." + part(
            {"sub": str(self.rng.randint(1, 10**9)), "exp": 1893456000}) + "." + signature

    def private_key(self) -> str:
        label = self.rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY",
                                 "ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY"])
        body = base64.b64encode(self.rng.randbytes(self.rng.choice([121, 400, 1190]))).decode()
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return "-----BEGIN " + label + "-----\n" + "\n".join(lines) + "\n-----END " + label + "-----"

    def password(self) -> str:
        return self.chars(ALNUM + "!#%^*_-", self.rng.randint(10, 24))

    def azure_account_key(self) -> str:
        return base64.b64encode(self.rng.randbytes(64)).decode()

    def azure_sas_key(self) -> str:
        return base64.b64encode(self.rng.randbytes(32)).decode()

    def sas_signature(self) -> str:
        return base64.b64encode(self.rng.randbytes(32)).decode().replace("+", "%2B").replace("/", "%2F") \
            .replace("=", "%3D")


def _contexts(secret: str, name: str) -> list[str]:
    """The same secret as it shows up in code, configs, shells, logs and JSON."""
    return [
        secret,
        f'{name.lower()} = "{secret}"\n',
        f"export {name}={secret}\n",
        f"{name}={secret}\n",
        f"{name.lower()}: {secret}\n",
        f'{{"{name.lower()}": "{secret}", "epochs": 3}}',
        f"2024-05-01 12:00:01 INFO using credential {secret} for the upload\n",
        f"client = Client(api_key='{secret}', timeout=30)\n",
    ]


def secret_samples(seed: int = 9, rounds: int = 5) -> Iterator[tuple[str, str, str]]:
    """(kind, secret, text) triples: every format, in every context, ``rounds`` different secrets each."""
    fake = Fakes(seed)
    for _ in range(rounds):
        singles = [
            ("openai-key", fake.openai(), "OPENAI_API_KEY"),
            ("openai-key", fake.openai_project(), "OPENAI_API_KEY"),
            ("anthropic-key", fake.anthropic(), "ANTHROPIC_API_KEY"),
            ("github-token", fake.github(), "GH_TOKEN"),
            ("github-token", fake.github_pat(), "GITHUB_PAT"),
            ("huggingface-token", fake.huggingface(), "HF_TOKEN"),
            ("aws-access-key-id", fake.aws_key_id(), "AWS_ID"),
            ("aws-secret-key", fake.aws_secret(), "VALUE"),  # a neutral name: found by its shape
            ("slack-token", fake.slack_bot(), "SLACK_BOT"),
            ("slack-token", fake.slack_user(), "SLACK"),
            ("slack-webhook", fake.slack_webhook(), "HOOK"),
            ("stripe-key", fake.stripe(), "STRIPE"),
            ("google-api-key", fake.google(), "MAPS"),
            ("gitlab-token", fake.gitlab(), "GL"),
            ("npm-token", fake.npm(), "NPM"),
            ("pypi-token", fake.pypi(), "TWINE"),
            ("sendgrid-key", fake.sendgrid(), "SENDGRID"),
            ("databricks-token", fake.databricks(), "DATABRICKS"),
            ("jwt", fake.jwt(), "BEARER"),
        ]
        for kind, secret, name in singles:
            for text in _contexts(secret, name):
                yield kind, secret, text
        key = fake.private_key()
        yield "private-key", key, key + "\n"
        yield "private-key", key, f'PRIVATE = """{key}"""\n'
        yield "private-key", key, json.dumps({"key": key})
        # AWS pairs: the secret key under whatever name, the id beside it (even one without digits).
        key_id, secret = "AKIA" + fake.chars(string.ascii_uppercase, 16), fake.aws_secret()
        yield "aws-secret-key", secret, f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
        yield "aws-secret-key", secret, f'creds = ("{key_id}", "{secret}")\n'
        yield "aws-access-key-id", key_id, f"id={key_id}\nother={secret}\n"
        # Credentials in URLs and connection strings.
        user, host = "svc_" + fake.chars(string.ascii_lowercase, 5), "db.internal"
        password = urllib.parse.quote(fake.password(), safe="")  # as it must be written in a URL
        for url in (f"postgresql://{user}:{password}@{host}:5432/experiments",
                    f"mongodb+srv://{user}:{password}@cluster0.ab1cd.mongodb.net/?retryWrites=true",
                    f"redis://:{password}@cache.internal:6379/0",
                    f"https://{user}:{password}@git.example.com/team/models.git",
                    f"mysql+pymysql://{user}:{password}@{host}/runs?charset=utf8mb4"):
            for text in (url, f"--db {url}", f"DATABASE_URL={url}\n", f'engine = create_engine("{url}")\n',
                         f"INFO connecting to {url}\n"):
                yield "url-password", password, text
        odbc = (f"Driver={{ODBC Driver 18 for SQL Server}};Server=tcp:{host},1433;Database=runs;Uid={user};"
                f"Pwd={password};Encrypt=yes;")
        ado = f"Server={host};Database=runs;User Id={user};Password={password};"
        jdbc_end = f"Server={host};Database=runs;Uid={user};PWD={password}"
        for text in (odbc, ado, jdbc_end, f'conn = pyodbc.connect("{odbc}")\n'):
            yield "connection-string-password", password, text
        account = ("DefaultEndpointsProtocol=https;AccountName=mlartifacts;AccountKey="
                   f"{fake.azure_account_key()};EndpointSuffix=core.windows.net")
        yield "azure-key", account.split("AccountKey=")[1].split(";")[0], f"AZURE_STORAGE_CONNECTION_STRING={account}\n"
        bus_key = fake.azure_sas_key()
        yield "azure-key", bus_key, ("Endpoint=sb://ml.servicebus.windows.net/;SharedAccessKeyName="
                                     f"RootManageSharedAccessKey;SharedAccessKey={bus_key}")
        sig = fake.sas_signature()
        yield "azure-sas-signature", sig, (f"https://mlartifacts.blob.core.windows.net/models?sv=2022-11-02&ss=b"
                                           f"&srt=sco&sp=rl&se=2030-01-01T00:00:00Z&sig={sig}")
        account_json = json.dumps({"type": "service" + "_account", "project_id": "ml-prod",
                                   "private_key_id": fake.chars(HEX, 40), "client_email": "x@y.iam.gserviceaccount.com",
                                   "private_key": "elided"}, indent=2)
        yield "gcp-service-account", '"type": "service_account"', account_json


# --- the clean corpus ---------------------------------------------------------------------------

TRAIN_PY = '''"""Fine-tune a classifier."""
import argparse
import os

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from huggingface_hub import hf_hub_download
from sklearn.model_selection import train_test_split  # sk-learn style pipeline

def connect(user: str, password: str, host: str = "localhost"):
    url = f"postgresql://{user}:{password}@{host}/runs"
    odbc = f"Server={host};Uid={user};Pwd={password};"
    return url, odbc

def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--model", default="bert-base-uncased")
    parser.add_argument("--password", default=os.environ.get("DB_PASSWORD"))
    parser.add_argument("--hf-token", default=None, help="falls back to HF_TOKEN")
    args = parser.parse_args()
    token = os.environ["HF_TOKEN"]
    model = AutoModelForSequenceClassification.from_pretrained(args.model, token=token)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    path = hf_hub_download(repo_id="bert-base-uncased", filename="config.json")
    client = connect(user="ada", password=args.password)
    keyword = dict(password=args.password, api_key=os.getenv("WANDB_API_KEY"))
    print(model, tokenizer, path, client, keyword)
    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 = AutoModelForSequenceClassification
    torch.save(model.state_dict(), "model.pt")

if __name__ == "__main__":
    main()
'''

CONFIG_YAML = """defaults:
  - model: resnet50
  - optimizer: adamw
trainer:
  max_epochs: 90
  precision: bf16-mixed
  accumulate_grad_batches: 4
data:
  root: /datasets/imagenet
  region: ASIAPACIFICNORTHEAST
  bucket: s3://ml-datasets/imagenet/ILSVRC2012_img_train
  cache: ${oc.env:HOME}/.cache
db:
  url: postgresql://${oc.env:DB_USER}:${oc.env:DB_PASSWORD}@db.internal/runs
  password: ${oc.env:DB_PASSWORD}
  odbc: "Server=db;Uid=ada;Pwd=${DB_PASSWORD};"
logging:
  wandb_project: imagenet-baselines
  greeting: xoxo-see-you-at-the-offsite-2024
"""

DOCKER_COMPOSE = """services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
      DATABASE_URL: postgresql://postgres:postgres@db:5432/postgres
  tracking:
    image: ghcr.io/example/tracker:1.4.2@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
    command: ["--backend-store-uri", "postgresql://user:password@db/runs"]
"""

MODEL_CARD = """---
language: en
license: apache-2.0
base_model: bert-base-uncased
tags: [text-classification, generated_from_trainer]
datasets: [imdb]
metrics: [accuracy]
model-index:
- name: bert-imdb
  results:
  - task: {type: text-classification}
    metrics:
    - {type: accuracy, value: 0.9312}
---
# bert-imdb

Fine-tuned `AutoModelForSequenceClassification` on IMDB. Load it with
`hf_hub_download` or `pipeline("text-classification", model="ada/bert-imdb")`.
Log in first with `huggingface-cli login` (your token starts with `hf_`). The training used
`accelerate` on 8 GPUs; see https://huggingface.co/docs/transformers/training.
Commit 3f786850e387550fdab836ed7e6dc881de23001b, run 01j2xkq7m3 (xoxo-thanks-to-the-team).
"""

REQUIREMENTS = """torch==2.3.1 \\
    --hash=sha256:{h1}
transformers==4.41.2 \\
    --hash=sha256:{h2}
git+https://github.com/ada/utils.git@v1.2#egg=utils
"""


def _fake_certificate(rng: random.Random, last_line: int) -> str:
    body = "".join(rng.choice(B64) for _ in range(64 * rng.randint(8, 20) + last_line))
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def ca_bundle(seed: int = 3, certificates: int = 40) -> str:
    """A CA bundle as distributions ship it: comments and PEM certificates (base64 lines of 64,
    the last one of any length, 40 included)."""
    rng = random.Random(seed)
    parts = []
    for index in range(certificates):
        parts.append(f"# Issuer: CN=Example Root CA {index} O=Example Trust\n# Label: \"Example Root {index}\"\n")
        parts.append(_fake_certificate(rng, last_line=40 if index % 3 == 0 else rng.randint(1, 63)))
    return "\n".join(parts)


def notebook(seed: int = 5) -> str:
    rng = random.Random(seed)
    image = base64.b64encode(rng.randbytes(3000)).decode()
    wrapped = "\n".join(image[i:i + 76] for i in range(0, len(image), 76))
    return json.dumps({"cells": [{"cell_type": "code", "source": ["model.fit(x, y)\n"],
                                  "outputs": [{"data": {"image/png": image, "text/plain": wrapped}}]}]})


def clean_samples(seed: int = 11) -> Iterator[tuple[str, str]]:
    """(name, text) of ordinary files an ML repository holds and runs write: none holds a secret."""
    rng = random.Random(seed)
    yield "train.py", TRAIN_PY
    yield "conf/config.yaml", CONFIG_YAML
    yield "docker-compose.yml", DOCKER_COMPOSE
    yield "README.md", MODEL_CARD
    yield "requirements.txt", REQUIREMENTS.format(h1="".join(rng.choice(HEX) for _ in range(64)),
                                                  h2="".join(rng.choice(HEX) for _ in range(64)))
    yield "certs/ca-bundle.pem", ca_bundle(seed)
    yield "certs/server.crt", _fake_certificate(rng, 40)
    yield "keys/signing.pub.key", "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(rng.randbytes(294)).decode() \
        + "\n-----END PUBLIC KEY-----\n"
    yield "license.key", "LICENSE-KEY-FORMAT v2\nholder = Example Lab\nseats = 25\nexpires = 2030-01-01\n"
    yield "i18n/messages.key", "greeting.hello = Hello\nfarewell.bye = Goodbye\n"
    yield "id_ed25519.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + "".join(rng.choice(B64) for _ in range(43)) \
        + " ada@laptop\n"
    yield "analysis.ipynb", notebook(seed)
    yield "ids.txt", "\n".join([str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(200)]
                               + ["".join(rng.choice(HEX) for _ in range(40)) for _ in range(200)]
                               + ["sha256-" + base64.b64encode(rng.randbytes(32)).decode() for _ in range(50)])
    digests = [base64.urlsafe_b64encode(rng.randbytes(32)).decode().rstrip("=") for _ in range(200)]
    yield "wheel/RECORD", "\n".join(f"pkg/mod{i}.py,sha256={digest},{100 + i}" for i, digest in enumerate(digests))
    yield "train.log", "".join(
        f"epoch {e} step {s} loss {rng.random():.4f} lr 3e-05 grad_norm {rng.random() * 5:.3f} "
        f"ckpt=checkpoints/ResNet50/epoch{e}/step{s:06d}.pt\n" for e in range(5) for s in range(0, 2000, 50))
    yield "paths.txt", "\n".join(f"data/ImageNet2012/train/n{rng.randint(1000000, 9999999):08d}/img{i}.JPEG"
                                 for i in range(100))
    yield "tokenizer.json", json.dumps({"model": {"vocab": {"".join(rng.choice(string.ascii_lowercase)
                                                                    for _ in range(rng.randint(2, 12))): i
                                                            for i in range(2000)}}})
