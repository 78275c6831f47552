"""``import gitrun.mlflow as mlflow``: the common MLflow tracking calls, recording gitrun runs.

The implementation is ``gitrun.integrations.mlflow`` (see its docstring and docs/integrations.md);
every name is forwarded to it.
"""

from __future__ import annotations

from typing import Any

from gitrun.integrations import mlflow as _implementation
from gitrun.integrations.mlflow import (
    ActiveRun,
    active_run,
    autolog,
    end_run,
    get_tracking_uri,
    last_active_run,
    log_artifact,
    log_artifacts,
    log_dict,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_text,
    set_experiment,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)

__all__ = ["ActiveRun", "active_run", "autolog", "end_run", "get_tracking_uri", "last_active_run", "log_artifact",
           "log_artifacts", "log_dict", "log_metric", "log_metrics", "log_param", "log_params", "log_text",
           "set_experiment", "set_tag", "set_tags", "set_tracking_uri", "start_run"]


def __getattr__(name: str) -> Any:
    """The rest (model flavours, the calls that raise ``Unsupported``...)."""
    return getattr(_implementation, name)
