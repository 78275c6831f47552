"""A Hugging Face Transformers ``TrainerCallback`` recording the training as a gitrun run
(``pip install gitrun[transformers]``).

::

    from gitrun.integrations.transformers import GitrunCallback
    trainer = Trainer(model=model, args=TrainingArguments("out", report_to="none"),
                      train_dataset=data, callbacks=[GitrunCallback()])
    trainer.train()

At ``on_train_begin`` the run starts (``gitrun.init()``'s in-process run; inside ``git run`` that
run) with the ``TrainingArguments`` (sanitised, as the W&B callback logs them) and the model's
config (``model.<key>``) as parameters. Every ``on_log`` (each ``logging_steps``, and each
evaluation: ``eval_loss``...) becomes metric points at the global step, ``epoch`` included. At
``on_train_end`` the final model is saved (``save_pretrained``) to ``<output_dir>/final-model`` and
its files are recorded as outputs (``log_model=False`` to skip); the run ends when the script exits,
or at ``callback.finish()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from gitrun import api
from gitrun.integrations.common import CallbackRun, as_number, files_under, flatten, log_file

FINAL_MODEL_DIR = "final-model"


class GitrunCallback(TrainerCallback):  # type: ignore[misc]
    def __init__(self, name: str | None = None, message: str = "", tags: list[str] | tuple[str, ...] = (),
                 log_model: bool = True) -> None:
        self._gitrun = CallbackRun(name, message, tags, "gitrun.transformers")
        self._log_model = log_model

    def _started(self, state: Any) -> api.Run | None:
        """The run, started on the main process only (the others of a distributed training log nothing)."""
        return self._gitrun.start() if getattr(state, "is_world_process_zero", True) else None

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        run = self._started(state)
        if run is None:
            return
        params: dict[str, Any] = dict(args.to_sanitized_dict())
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "to_dict"):
            params.update({f"model.{key}": value for key, value in flatten(config.to_dict())})
        run.log_params({key: value if isinstance(value, bool | int | float | str) else str(value)
                        for key, value in params.items() if value is not None})

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        run = self._started(state)
        if run is None or not logs:
            return
        numbers = {key: number for key, number in ((key, as_number(value)) for key, value in logs.items())
                   if number is not None}
        if numbers:
            run.log(numbers, step=int(state.global_step))

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        run = self._gitrun.run
        if run is None:
            return
        if self._log_model and model is not None and hasattr(model, "save_pretrained"):
            folder = Path(args.output_dir) / FINAL_MODEL_DIR
            model.save_pretrained(folder)
            for path in files_under(folder):
                log_file(run, path)
        run.flush()

    def finish(self, status: str | None = None) -> None:
        """End the run now (otherwise it ends when the script exits); the next training starts a new one."""
        self._gitrun.finish(status)
