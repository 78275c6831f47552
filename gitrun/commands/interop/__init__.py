"""Other trackers: runs imported from MLflow, DVC and W&B, and runs exported to MLflow and TensorBoard.

Each tracker's reader turns its runs into ``ForeignRun`` values (``imported.py``), which one writer
stores as ordinary gitrun runs marked ``imported_from = "<tool>:<id>"``. The trackers' packages
are optional extras, imported only inside these modules' functions (``extras.require``).
"""
