"""The family's declared policy: the values the rules hold the Dockerfiles to, declared once."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# The dev-container user every image ends on (created by the base image with this UID/GID).
NON_ROOT_USER = "claude"
NON_ROOT_UID = 1000

# Most RUN/COPY/ADD instructions (each adds a layer) the final stage of each image may have. A new layer
# is a decision: raise the limit here, in the same change, and say why in its commit.
LAYER_LIMITS: Mapping[str, int] = MappingProxyType(
    {
        "base": 4,
        "go": 3,
        "node": 2,
        "python": 2,
    }
)

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
