# Interactive bash in every Reactor image: a prompt that shows the git branch and state, and the short
# aliases of the upstream images that shadow no real command. Sourced from /etc/bash.bashrc, which bash
# reads for interactive non-login shells (`docker exec -it … bash`, `bash -i`) and Debian's /etc/profile
# sources for interactive login shells (`docker run -it`, `bash -l`). images/parity.toml lists the
# aliases; tests/test_terminal.py checks them and the prompt on a real terminal.
case $- in *i*) ;; *) return 0 2>/dev/null || exit 0 ;; esac

# git's own prompt helper, shipped by the git package. It sets PS1 from PROMPT_COMMAND, so the PS1 that
# ~/.bashrc assigns afterwards does not hide the branch; a user's own PROMPT_COMMAND replaces it.
if [ -r /usr/lib/git-core/git-sh-prompt ]; then
    . /usr/lib/git-core/git-sh-prompt
    GIT_PS1_SHOWDIRTYSTATE=1        # * unstaged, + staged changes
    GIT_PS1_SHOWUNTRACKEDFILES=1    # % untracked files
    GIT_PS1_SHOWUPSTREAM=auto       # <, >, <> or = against the upstream branch
    PROMPT_COMMAND='__git_ps1 "${debian_chroot:+($debian_chroot)}\u@\h:\w" "\\\$ "'
fi

# An alias group exists only in the image whose tool it drives.
if command -v ipython >/dev/null 2>&1; then
    alias py='python3'
    alias ipy='ipython'
fi
if command -v tsc >/dev/null 2>&1; then
    alias dev='npm run dev'
    alias build='npm run build'
fi
if command -v go >/dev/null 2>&1; then
    alias gob='go build'
    alias gor='go run'
    alias got='go test'
    alias gotv='go test -v'
    alias gom='go mod tidy'
    alias gof='go fmt'
fi
