"""What the rules know about commands: which download, which verify. (The family's policy values —
user, layer limits — live in images/policy.toml and reach the rules through RuleContext.)"""

from __future__ import annotations

# Commands that fetch an artifact over the network; their RUN must verify it against a checksum pin.
# (program, subcommand or None): `npm pack` and `go mod download` download too.
DOWNLOAD_COMMANDS: frozenset[tuple[str, str | None]] = frozenset(
    {
        ("curl", None),
        ("wget", None),
        ("npm", "pack"),
        ("go", "mod download"),
        ("pip", "download"),
    }
)

# Downloads whose output the RUN must also pass through one of these with --check/-c: a bare curl or wget
# has nothing else verifying it. Package-manager fetches (npm pack, go mod download, pip download) count as
# verified when the RUN uses a checksum pin, since how they compare digests varies.
CHECKSUM_PROGRAMS: frozenset[str] = frozenset({"sha256sum", "sha384sum", "sha512sum", "shasum", "b2sum"})
RAW_DOWNLOADERS: frozenset[str] = frozenset({"curl", "wget"})
