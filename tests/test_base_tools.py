"""The small command-line tools base adds for parity with the upstream images (images/parity.toml): each
one really used, offline, as claude — shellcheck finds a planted issue, gpg signs and verifies, fzf
filters, wget fetches, vim edits, htop starts on a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from reactor_harness.core.engine import assert_failed, assert_succeeded

pytestmark = pytest.mark.image("base")

SCRIPTS = Path(__file__).parent / "samples" / "base" / "scripts"


def test_shellcheck_finds_the_planted_issue(container, built_image):
    """shellcheck reports SC2086 in the planted script and passes the clean one."""
    scripts = container.copy_to_scratch(SCRIPTS)
    planted = container.exec(["shellcheck", "planted.sh"], workdir=scripts)
    assert planted.exit_status == 1, f"{built_image}: expected shellcheck to report SC2086\n{planted.describe()}"
    assert "SC2086" in planted.stdout, planted.describe()
    assert_succeeded(container.exec(["shellcheck", "clean.sh"], workdir=scripts), f"{built_image}: clean script")


def test_gpg_signs_and_verifies_a_file(container, built_image):
    """gpg makes a key, signs a file and verifies the signature; a changed file fails verification."""
    script = """
set -e
export GNUPGHOME="$(mktemp -d)"
cd "$(mktemp -d)"
gpg --version | head -1
gpg --batch --pinentry-mode loopback --passphrase '' \\
    --quick-gen-key 'Reactor Test <test@example.invalid>' default sign never 2>/dev/null
echo 'signed content' > file.txt
gpg --batch --pinentry-mode loopback --passphrase '' --detach-sign file.txt
gpg --batch --verify file.txt.sig file.txt 2>&1 | grep -q 'Good signature'
echo 'changed' >> file.txt
if gpg --batch --verify file.txt.sig file.txt 2>/dev/null; then echo 'tampered file verified' >&2; exit 1; fi
echo verified
"""
    result = container.sh(script)
    assert_succeeded(result, f"{built_image}: gpg sign and verify")
    pinned = built_image.dockerfile.pin("GPG_VERSION").value
    assert result.stdout.splitlines()[0] == f"gpg (GnuPG) {pinned}", result.describe()
    assert result.stdout.strip().endswith("verified"), result.describe()


def test_fzf_filters_a_list(container, built_image):
    """fzf --filter picks the fuzzy matches from its input, non-interactively."""
    result = container.sh("printf 'alpha\\nbeta\\ngamma\\ndelta\\n' | fzf --filter=amm")
    assert_succeeded(result, f"{built_image}: fzf --filter")
    assert result.stdout.split() == ["gamma"], result.describe()
    assert_failed(container.sh("printf 'alpha\\n' | fzf --filter=zzz"), f"{built_image}: fzf --filter without a match")


def test_wget_fetches_a_local_file(container, built_image):
    """wget downloads from an HTTP server on the loopback interface (socat runs a tiny responder)."""
    script = """
set -e
cd "$(mktemp -d)"
printf 'HTTP/1.0 200 OK\\r\\nContent-Length: 6\\r\\n\\r\\nfetch\\n' > response.http
printf '#!/bin/sh\\nread -r request\\ncat response.http\\n' > serve && chmod +x serve
socat TCP-LISTEN:18080,bind=127.0.0.1,reuseaddr,fork EXEC:./serve &
server=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do wget -q -O page.txt http://127.0.0.1:18080/page && break; sleep 0.5; done
kill "$server"
cat page.txt
"""
    result = container.sh(script, timeout=60)
    assert_succeeded(result, f"{built_image}: wget from a local server")
    assert result.stdout.strip() == "fetch", result.describe()


def test_vim_edits_a_file_in_ex_mode(container, built_image):
    """`vim` is vim-tiny (the small variant) and edits a file from a script."""
    script = """
set -e
readlink -f "$(command -v vim)"
file="$(mktemp)"
echo 'hello foo' > "$file"
vim -Es -c '%s/foo/bar/' -c 'wq' "$file"
cat "$file"
"""
    result = container.sh(script)
    assert_succeeded(result, f"{built_image}: vim -Es")
    assert result.stdout.split("\n")[:2] == ["/usr/bin/vim.tiny", "hello bar"], result.describe()


def test_htop_starts(container, built_image):
    """htop draws its process table on a terminal (script(1) gives it one) until it is stopped."""
    result = container.sh("TERM=xterm timeout 3 script -qfec 'htop -d 5' /dev/null; echo \"status=$?\"", timeout=60)
    assert "status=124" in result.stdout, f"{built_image}: htop did not keep running\n{result.describe()}"
    assert "PID" in result.stdout, f"{built_image}: htop drew no process table\n{result.describe()}"
