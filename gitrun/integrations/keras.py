"""A Keras 3 callback recording the training as a gitrun run (``pip install gitrun[keras]``).

::

    from gitrun.integrations.keras import GitrunCallback
    model.fit(x, y, epochs=3, callbacks=[GitrunCallback()])

At ``on_train_begin`` the run starts (``gitrun.init()``'s in-process run; inside ``git run`` that
run) with the fit's parameters (``epochs``, ``steps``...), the optimizer's configuration
(``optimizer.<key>``: learning rate...) and ``params=`` given here. Each batch's logs become points
``batch/<name>`` at the global batch number, each epoch's logs (``loss``, ``val_loss``...) points
at the epoch number. At ``on_train_end`` the model is saved to ``model_path`` (``model.keras``;
None to skip) and recorded as an output. Any backend (``KERAS_BACKEND=torch``, jax, tensorflow).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras

from gitrun import api
from gitrun.integrations.common import CallbackRun, as_number, flatten, log_file


def _numbers(logs: Mapping[str, Any] | None, prefix: str = "") -> dict[str, float]:
    return {f"{prefix}{key}": number for key, number in ((key, as_number(value)) for key, value in (logs or {}).items())
            if number is not None}


class GitrunCallback(keras.callbacks.Callback):  # type: ignore[misc]
    def __init__(self, name: str | None = None, message: str = "", tags: list[str] | tuple[str, ...] = (),
                 params: Mapping[str, Any] | None = None, model_path: str | None = "model.keras") -> None:
        super().__init__()
        self._gitrun = CallbackRun(name, message, tags, "gitrun.keras")
        self._extra_params = dict(params or {})
        self._model_path = model_path
        self._batches = 0

    @property
    def _run(self) -> api.Run | None:
        return self._gitrun.run

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        run = self._gitrun.start()
        if run is None:
            return
        params: dict[str, Any] = {key: value for key, value in (self.params or {}).items() if value is not None}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "get_config"):
            params.update({f"optimizer.{key}": value for key, value in flatten(optimizer.get_config())})
        params.update(self._extra_params)
        run.log_params({key: value if isinstance(value, bool | int | float | str) else str(value)
                        for key, value in params.items() if value is not None})

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        if self._run is not None:
            self._run.log(_numbers(logs, "batch/"), step=self._batches)
        self._batches += 1

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        if self._run is not None:
            self._run.log(_numbers(logs), step=epoch)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        run = self._run
        if run is None:
            return
        if self._model_path:
            path = Path(self._model_path)
            self.model.save(path)
            log_file(run, path)
        run.flush()

    def finish(self, status: str | None = None) -> None:
        """End the run now (otherwise it ends when the script exits); the next fit starts a new one."""
        self._gitrun.finish(status)
