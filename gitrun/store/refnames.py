"""The names of gitrun's refs, locally and as tracked from a remote (docs/format.md), without pygit2:
a first pull builds its fetch from them before the heavy imports (``store/prefetch.py``).

``refs.py``, ``sweeps.py``, ``journal_share.py`` and ``sharing/remote.py`` re-export what they used to define.
"""

from __future__ import annotations

EXPERIMENTS_PREFIX = "refs/experiments/"
NOTES_REF = "refs/notes/gitrun"
JOURNAL_REF = "refs/gitrun/journal"
REMOTE_NOTES_PREFIX = "refs/gitrun/remotes/"  # refs/gitrun/remotes/<remote>/notes: last fetched notes
SWEEPS_PREFIX = "refs/gitrun/sweeps/"


def tracking_notes_ref(remote: str) -> str:
    return f"{REMOTE_NOTES_PREFIX}{remote}/notes"


def tracking_runs_prefix(remote: str) -> str:
    return f"{REMOTE_NOTES_PREFIX}{remote}/experiments/"


def tracking_journal_ref(remote: str) -> str:
    return f"{REMOTE_NOTES_PREFIX}{remote}/journal"


def journal_fetch_refspec(remote: str) -> str:
    return f"+{JOURNAL_REF}*:{tracking_journal_ref(remote)}*"


def tracking_sweeps_prefix(remote: str) -> str:
    """Where ``git run fetch/pull`` keeps a remote's sweeps (read like local ones)."""
    return f"{REMOTE_NOTES_PREFIX}{remote}/sweeps/"


def first_pull_refspecs(remote: str) -> list[str]:
    """A first pull's one fetch (no local run yet): the runs straight into ``refs/experiments`` (not
    forced, so a run ref that appeared meanwhile is never overwritten), the rest into tracking refs."""
    return [f"+{NOTES_REF}*:{tracking_notes_ref(remote)}*", journal_fetch_refspec(remote),
            f"+{SWEEPS_PREFIX}*:{tracking_sweeps_prefix(remote)}*", f"{EXPERIMENTS_PREFIX}*:{EXPERIMENTS_PREFIX}*"]
