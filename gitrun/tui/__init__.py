"""``git run ui``: the terminal UI (Textual). The only package that imports textual.

Data access lives in modules that never import textual (``source``, ``columns``, ``prefs``,
``plain``): they call ``gitrun.store`` and ``gitrun.model`` and return plain data, so the screens
stay thin and the same reads serve ``git run ui --once``.
"""
