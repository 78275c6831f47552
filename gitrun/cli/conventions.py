"""``git run config`` (each setting and where it came from) and ``git run completion SHELL``.

Completion is click's (``_GIT_RUN_COMPLETE``), adapted so that it also completes ``git run ...``
through git's own completion (bash: git-completion's ``_git_run`` hook; zsh: ``_git-run``; fish: a
``git`` completion under the ``run`` subcommand). Run arguments complete to run ids and names read
from the read index (``store/index.py``), never by parsing notes.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from click.shell_completion import get_completion_class

from gitrun.cli.group import COMPLETE_VAR, cli
from gitrun.cli.output_options import reading

PROG = "git-run"


@cli.command("config")
@reading()
@click.argument("key", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of {key, value, origin, default, about}.")
def config_cmd(key: str | None, as_json: bool) -> None:
    """Show each setting, its value and where it came from (file and line, git config level, default).

    \b
    git run config                     every setting
    git run config max_untracked_size  one value
    Sources, lowest first: defaults, git config --system/--global, [tool.gitrun] in pyproject.toml,
    .gitrun.toml, git config --local; NO_COLOR, GIT_PAGER and options win over all.
    """
    from gitrun.commands.config_show import config_command

    sys.exit(config_command(key, as_json=as_json))


_BASH_GIT = r"""
# `git run ...` through git's own completion (git-completion.bash calls _git_run)
_git_run() {
    local i start=0
    for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
        if [[ ${COMP_WORDS[i]} == run ]]; then start=$i; break; fi
    done
    local COMP_WORDS=(git-run "${COMP_WORDS[@]:start+1}")
    local COMP_CWORD=$((COMP_CWORD - start))
    _git_run_completion git-run
}
complete -o nosort -F _git_run_completion gitrun
"""

_ZSH_GIT = r"""
# `git run ...` through zsh's git completion (it calls _git-run for the user command "run"):
#   zstyle ':completion:*:*:git:*' user-commands run:'record and explore experiment runs'
_git-run() {
    local -a words_
    words_=(git-run "${(@)words[3,-1]}")
    words=("${words_[@]}")
    (( CURRENT -= 1 ))
    _git_run_completion git-run
}
compdef _git_run_completion gitrun
"""

_FISH_GIT = r"""
# `git run ...` through fish's git completion
function _git_run_subcommand_completion
    set -l line (commandline -cp | string replace -r '^\s*git\s+run' 'git-run')
    set -l response (env _GIT_RUN_COMPLETE=fish_complete COMP_WORDS="$line" COMP_CWORD=(commandline -t) git-run)
    for completion in $response
        set -l metadata (string split "," $completion)
        if test $metadata[1] = "dir"
            __fish_complete_directories $metadata[2]
        else if test $metadata[1] = "file"
            __fish_complete_path $metadata[2]
        else if test $metadata[1] = "plain"
            echo $metadata[2]
        end
    end
end
complete --no-files --command git --condition '__fish_seen_subcommand_from run' \
    --arguments '(_git_run_subcommand_completion)'
"""

_ADAPTERS = {"bash": _BASH_GIT, "zsh": _ZSH_GIT, "fish": _FISH_GIT}


def completion_script(shell: str) -> str:
    """click's script for ``git-run`` plus the adapter for ``git run`` in ``shell``."""
    completion_class: Any = get_completion_class(shell)
    if completion_class is None:
        raise click.UsageError(f"no completion for {shell}: choose bash, zsh or fish")
    source = completion_class(cli, {}, PROG, COMPLETE_VAR).source()
    return source.rstrip("\n") + "\n" + _ADAPTERS[shell].lstrip("\n")


@cli.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_cmd(shell: str) -> None:
    """Print the shell completion script for SHELL (commands, options, run ids and names).

    \b
    bash: git run completion bash > ~/.local/share/bash-completion/completions/git-run
          (or: eval "$(git run completion bash)" in ~/.bashrc, after git's completion)
    zsh:  git run completion zsh > ~/.zfunc/_git-run   (fpath+=~/.zfunc; compinit)
    fish: git run completion fish > ~/.config/fish/completions/git-run.fish
    """
    sys.stdout.write(completion_script(shell))
