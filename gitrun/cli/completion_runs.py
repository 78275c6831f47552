"""Shell completion of run arguments: ids and names from the read index (fast, no note parsed)."""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem


def complete_runs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Run ids (their first 10 characters) and names starting with ``incomplete``, newest first."""
    try:
        from gitrun.store.git import open_repository
        from gitrun.store.runs import RunStore

        repo, paths = open_repository(None)
        names = RunStore(repo, paths).index.names()
    except Exception:  # outside a repository, or an index that cannot be read: no suggestions
        return []
    items: list[CompletionItem] = []
    seen: set[str] = set()
    for run_id in sorted(names, reverse=True):
        name = names[run_id] or ""
        for value, help_text in ((run_id[:10], name), (name, run_id[:10])):
            usable = value.isprintable() and " " not in value  # a pulled name is never sent to the shell raw
            if value and usable and value.startswith(incomplete) and value not in seen:
                seen.add(value)
                items.append(CompletionItem(value, help=help_text))
    return items
