"""The journal travels with the runs: push publishes it, pull brings it, concurrent entries merge."""

from __future__ import annotations

import pytest

from tests.conftest import git
from tests.remote_helpers import Server, User, server_fixture, team_fixture  # noqa: F401


def journal(user: User) -> str:
    return user.run("journal", "show").stdout


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_a_fresh_clone_gets_the_journal_and_concurrent_entries_are_both_kept(team: list[User],
                                                                             server: Server) -> None:
    ada, bob, cy = team
    run_id = ada.record("echo", "hello")
    ada.run("journal", "add", f"planned: warmup, see run:{run_id[:8]}")
    ada.run("push")
    assert "refs/gitrun/journal" in server.refs("refs/gitrun/")
    out = bob.run("pull").stdout
    assert "journal updated" in out
    assert "planned: warmup" in journal(bob)
    # Both write at once: Bob's push merges Ada's entry first; Ada's pull merges Bob's. Nothing is lost.
    ada.run("journal", "add", "ada: lr sweep running")
    bob.run("journal", "add", "bob: mixup decided against")
    ada.run("push")
    bob.run("push")
    ada.run("pull")
    cy.run("pull")
    for user in (ada, bob, cy):
        text = journal(user)
        assert "planned: warmup" in text and "ada: lr sweep running" in text and "bob: mixup decided against" in text
        assert text.count("planned: warmup") == 1
    # The merge is a real merge commit: both histories are kept.
    parents = git(bob.path, "log", "-1", "--format=%P", "refs/gitrun/journal").split()
    assert len(parents) == 2
    # A push with no new runs still publishes a journal entry.
    cy.run("journal", "add", "cy: only a journal entry")
    cy.run("push")
    ada.run("pull")
    assert "cy: only a journal entry" in journal(ada)


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_remote_setup_fetches_the_journal_too(team: list[User]) -> None:
    ada, bob, _ = team
    ada.record("echo", "hello")
    ada.run("journal", "add", "an entry")
    ada.run("push")
    bob.run("remote", "setup")
    git(bob.path, "fetch", "-q")
    assert "refs/gitrun/remotes/origin/journal" in git(bob.path, "for-each-ref", "refs/gitrun/remotes/origin/")
    bob.run("pull", "--no-fetch")
    assert "an entry" in journal(bob)
    bob.run("remote", "setup", "--undo")
    assert "journal" not in git(bob.path, "config", "--get-all", "remote.origin.fetch", check=False)
