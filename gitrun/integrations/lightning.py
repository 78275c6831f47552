"""A PyTorch Lightning logger that records the training as a gitrun run (``pip install gitrun[lightning]``).

::

    from gitrun.integrations.lightning import GitrunLogger
    trainer = lightning.pytorch.Trainer(logger=GitrunLogger(), max_epochs=3)
    trainer.fit(model, data)

Hyperparameters (``self.save_hyperparameters()``, ``logger.log_hyperparams``) become parameters;
every ``self.log(...)`` value becomes a metric point at the trainer's global step (``on_step`` and
``on_epoch`` values keep Lightning's ``_step``/``_epoch`` names; ``epoch`` is a series too); the
best (else last) checkpoint of ``ModelCheckpoint`` is recorded as an output when training ends.
The run starts at the first call (``gitrun.init()``'s in-process run; inside ``git run`` that
run) and ends when the script exits, or at ``logger.finish()`` (e.g. between fits in a notebook).
Works with ``lightning`` and, when only that is installed, ``pytorch_lightning``.
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import Any

try:
    from lightning.pytorch.loggers.logger import Logger
    from lightning.pytorch.utilities import rank_zero_only
except ImportError:  # the older package name
    from pytorch_lightning.loggers.logger import Logger  # type: ignore[no-redef, assignment]
    from pytorch_lightning.utilities import rank_zero_only  # type: ignore[no-redef]

from gitrun import api
from gitrun.integrations.common import CallbackRun, as_number, flatten, log_file


class GitrunLogger(Logger):
    """Lightning logger recording a gitrun run; ``name``/``message``/``tags`` are the run's."""

    def __init__(self, name: str | None = None, message: str = "", tags: list[str] | tuple[str, ...] = (),
                 log_model: bool = True) -> None:
        super().__init__()
        self._gitrun = CallbackRun(name, message, tags, "gitrun.lightning")
        self._log_model = log_model
        self._checkpoint: Any = None  # the ModelCheckpoint callback, once it saved

    @property
    def experiment(self) -> api.Run | None:
        """The gitrun run (started at the first use); None on processes of rank > 0."""
        return self._gitrun.start() if getattr(rank_zero_only, "rank", 0) == 0 else None

    @property
    def name(self) -> str:
        return "gitrun"

    @property
    def version(self) -> str:
        run = self.experiment
        return run.id if run is not None else ""

    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        values = vars(params) if isinstance(params, Namespace) else dict(params)
        flat = {key: value if isinstance(value, bool | int | float | str) or value is None else str(value)
                for key, value in flatten(values)}
        run = self.experiment
        if run is not None and flat:
            run.log_params(flat)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        numbers = {key: number for key, number in ((key, as_number(value)) for key, value in metrics.items())
                   if number is not None}
        run = self.experiment
        if run is not None and numbers:
            run.log(numbers, step=step)

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        self._checkpoint = checkpoint_callback

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """End of fit/validate/test: record the best (else last) checkpoint and write buffered points."""
        run = self._gitrun.run
        if run is None:
            return
        checkpoint = self._checkpoint
        if self._log_model and checkpoint is not None:
            path = getattr(checkpoint, "best_model_path", "") or getattr(checkpoint, "last_model_path", "")
            if path and Path(path).is_file():
                log_file(run, Path(path))
        run.flush()

    def finish(self, status: str | None = None) -> None:
        """End the run now (otherwise it ends when the script exits); a later fit starts a new one."""
        self._gitrun.finish(status)
