"""The framework callbacks against the real frameworks on the CPU: a tiny model, the fewest steps
that still log per step and per epoch and save a final model. Each trains in its own ``python
train.py`` process, as a user's script would, and the recorded run is read back from the store.

Slow (heavy imports): run by ``make check``; skipped when the ``test-integrations`` extra is missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git, gitrun

pytestmark = pytest.mark.slow


def train(repo: Path, text: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``text`` as ``python train.py`` in ``repo``; return the one run it recorded."""
    (repo / "train.py").write_text(textwrap.dedent(text))
    result = subprocess.run([sys.executable, "train.py"], cwd=repo, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "TOKENIZERS_PARALLELISM": "false", **(env or {})})
    assert result.returncode == 0, result.stderr[-3000:]
    listed = json.loads(gitrun(repo, "list", "--json").stdout)
    assert len(listed) == 1, listed
    return dict(json.loads(gitrun(repo, "show", listed[0]["id"], "--json").stdout))


def steps(repo: Path, run: dict[str, Any], name: str) -> list[int]:
    text = git(repo, "show", f"refs/experiments/{run['id']}:metrics/{name}.tsv")
    return [int(line.split("\t")[0]) for line in text.splitlines()[1:]]


def stored_output(run: dict[str, Any], suffix: str) -> dict[str, Any]:
    found = [item for item in run["outputs"] if item["path"].endswith(suffix)]
    assert found, [item["path"] for item in run["outputs"]]
    assert found[0]["size"] > 0 and found[0]["hash"].startswith("blake3:")
    return found[0]


LIGHTNING = """\
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    import {package} as L
    from gitrun.integrations.lightning import GitrunLogger

    class Tiny(L.LightningModule):
        def __init__(self, lr=0.1, hidden=4):
            super().__init__()
            self.save_hyperparameters()
            self.net = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.Linear(hidden, 1))

        def training_step(self, batch, index):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss, on_step=True, on_epoch=True)
            return loss

        def validation_step(self, batch, index):
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    torch.manual_seed(0)
    data = TensorDataset(torch.randn(16, 2), torch.randn(16, 1))
    trainer = L.Trainer(max_epochs=2, logger=GitrunLogger(tags=["tiny"]), log_every_n_steps=1,
                        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    trainer.fit(Tiny(lr=0.05), DataLoader(data, batch_size=4), DataLoader(data, batch_size=8))
"""


@pytest.mark.parametrize("package", ["lightning.pytorch", "pytorch_lightning"])
def test_lightning_logger(repo: Path, package: str) -> None:
    pytest.importorskip(package)
    run = train(repo, LIGHTNING.format(package=package))
    assert run["status"] == "succeeded" and run["launched_by"] == "gitrun.lightning"
    assert run["tags"] == ["tiny"]
    assert run["params"]["lr"] == 0.05 and run["params"]["hidden"] == 4
    assert steps(repo, run, "train_loss_step") == list(range(8))  # 4 batches x 2 epochs, every step
    assert len(steps(repo, run, "train_loss_epoch")) == 2 and len(steps(repo, run, "val_loss")) == 2
    assert run["metrics"]["epoch"] == 1.0
    stored_output(run, ".ckpt")


TRANSFORMERS = """\
    import torch
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
    from gitrun.integrations.transformers import GitrunCallback

    torch.manual_seed(0)
    config = BertConfig(vocab_size=32, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                        intermediate_size=8, max_position_embeddings=16, num_labels=2)
    model = BertForSequenceClassification(config)

    class Data(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, index):
            return {"input_ids": torch.tensor([1, 2, 3, index % 30 + 1]), "labels": torch.tensor(index % 2)}

    args = TrainingArguments("out", num_train_epochs=2, per_device_train_batch_size=4, logging_steps=1,
                             eval_strategy="epoch", save_strategy="no", report_to="none", use_cpu=True,
                             learning_rate=1e-3, disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=Data(), eval_dataset=Data(),
                      callbacks=[GitrunCallback(tags=["bert-tiny"])])
    trainer.train()
"""


def test_transformers_callback(repo: Path) -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    run = train(repo, TRANSFORMERS)
    assert run["status"] == "succeeded" and run["launched_by"] == "gitrun.transformers"
    assert run["params"]["learning_rate"] == 0.001 and run["params"]["num_train_epochs"] == 2
    assert run["params"]["model.hidden_size"] == 8
    assert steps(repo, run, "loss") == [1, 2, 3, 4]  # logging_steps=1: 2 batches x 2 epochs
    assert steps(repo, run, "eval_loss") == [2, 4]  # one evaluation per epoch
    assert run["metrics"]["epoch"] == 2.0
    stored_output(run, "final-model/config.json")
    stored_output(run, "final-model/model.safetensors")


KERAS = """\
    import numpy as np
    import keras
    from gitrun.integrations.keras import GitrunCallback

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    x, y = np.random.rand(16, 2), np.random.rand(16, 1)
    model.fit(x, y, epochs=2, batch_size=4, validation_split=0.25, verbose=0,
              callbacks=[GitrunCallback(params={"hidden": 4})])
"""


def test_keras_callback(repo: Path) -> None:
    if importlib.util.find_spec("keras") is None:  # importing it here would pick TensorFlow, not installed
        pytest.skip("keras is not installed (make install-extras)")
    pytest.importorskip("torch")
    run = train(repo, KERAS, env={"KERAS_BACKEND": "torch"})
    assert run["status"] == "succeeded" and run["launched_by"] == "gitrun.keras"
    assert run["params"]["epochs"] == 2 and run["params"]["hidden"] == 4
    assert run["params"]["optimizer.learning_rate"] == pytest.approx(0.05)
    assert steps(repo, run, "batch/loss") == list(range(6))  # 12 training samples / 4, 2 epochs
    assert steps(repo, run, "loss") == [0, 1] and steps(repo, run, "val_loss") == [0, 1]
    assert stored_output(run, "model.keras")["path"] == "model.keras"
