"""Integrations: the drop-in APIs (``gitrun.wandb``, ``gitrun.mlflow``), the framework callbacks
(Lightning, Transformers, Keras) and notebook capture. A layer above ``commands`` (see
docs/architecture.md); nothing here is imported by ``import gitrun``, and the heavy frameworks are
imported only by the module of their callback, which the user imports.
"""
