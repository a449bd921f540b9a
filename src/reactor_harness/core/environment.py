"""Every environment variable the harness reads, read in this one place.

Options and ini values win over these; library code that runs outside pytest (the engine seam, the
Trivy finder, the Debian bootstrap, the release CLI) reads its overrides from `Environment.read()`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

PLATFORMS = "REACTOR_PLATFORMS"
IMAGES = "REACTOR_IMAGES"
BUILD_CA_BUNDLE = "REACTOR_BUILD_CA_BUNDLE"
DOCKER_CLIENT = "REACTOR_DOCKER_CLIENT"
DEBIAN_MIRROR = "REACTOR_DEBIAN_MIRROR"
DEBIAN_SECURITY_MIRROR = "REACTOR_DEBIAN_SECURITY_MIRROR"
TRIVY = "REACTOR_TRIVY"
TRIVY_CACHE_DIR = "REACTOR_TRIVY_CACHE_DIR"
CACHE_DIR = "REACTOR_CACHE_DIR"
IGNORE_UNFIXED = "REACTOR_IGNORE_UNFIXED"
REGISTRY_USERNAME = "REACTOR_REGISTRY_USERNAME"
REGISTRY_PASSWORD = "REACTOR_REGISTRY_PASSWORD"  # noqa: S105 - the variable's name, not a secret
LOCAL_REPOSITORY = "REACTOR_LOCAL_REPOSITORY"
REQUIRE_NATIVE = "REACTOR_REQUIRE_NATIVE"
CI = "CI"
SSL_CERT_FILE = "SSL_CERT_FILE"

# What each variable does, for the README's option tables and `--help`.
VARIABLES: Mapping[str, str] = {
    PLATFORMS: "default of --platform",
    IMAGES: "default of --images",
    BUILD_CA_BUNDLE: "default of --build-ca-bundle",
    DOCKER_CLIENT: "the docker CLI to use",
    DEBIAN_MIRROR: "the Debian archive the bootstrap takes from",
    DEBIAN_SECURITY_MIRROR: "the Debian security archive the bootstrap takes from",
    TRIVY: "the Trivy binary to use",
    TRIVY_CACHE_DIR: "default of --trivy-cache-dir",
    CACHE_DIR: "default of --reactor-cache-dir",
    IGNORE_UNFIXED: "default of --ignore-unfixed",
    REGISTRY_USERNAME: "registry user of reactor-release",
    REGISTRY_PASSWORD: "registry password of reactor-release",
    LOCAL_REPOSITORY: "the repository prefix of the images a run builds (default reactor-test)",
    REQUIRE_NATIVE: "platforms this run must run natively: a check that needs a native run fails instead of skipping",
    CI: "true turns strict mode on",
}

_TRUE = {"1", "true", "yes", "on"}


def truthy(value: str | None) -> bool:
    """Whether an environment value means "on" (1, true, yes, on; any case)."""
    return (value or "").strip().lower() in _TRUE


def _get(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value if value else None


@dataclass(frozen=True)
class Environment:
    """The harness's environment variables, read once; None where a variable is unset or empty."""

    platforms: str | None = None
    images: str | None = None
    build_ca_bundle: str | None = None
    ssl_cert_file: str | None = None
    docker_client: str | None = None
    debian_mirror: str | None = None
    debian_security_mirror: str | None = None
    trivy: str | None = None
    trivy_cache_dir: str | None = None
    cache_dir: str | None = None
    ignore_unfixed: bool = False
    registry_username: str | None = None
    registry_password: str | None = None
    local_repository: str | None = None
    require_native: str | None = None
    ci: bool = False

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> Environment:
        """Read the variables from `environ` (default: this process's environment)."""
        env = os.environ if environ is None else environ
        return cls(
            platforms=_get(env, PLATFORMS),
            images=_get(env, IMAGES),
            build_ca_bundle=_get(env, BUILD_CA_BUNDLE),
            ssl_cert_file=_get(env, SSL_CERT_FILE),
            docker_client=_get(env, DOCKER_CLIENT),
            debian_mirror=_get(env, DEBIAN_MIRROR),
            debian_security_mirror=_get(env, DEBIAN_SECURITY_MIRROR),
            trivy=_get(env, TRIVY),
            trivy_cache_dir=_get(env, TRIVY_CACHE_DIR),
            cache_dir=_get(env, CACHE_DIR),
            ignore_unfixed=truthy(env.get(IGNORE_UNFIXED)),
            registry_username=_get(env, REGISTRY_USERNAME),
            registry_password=_get(env, REGISTRY_PASSWORD),
            local_repository=_get(env, LOCAL_REPOSITORY),
            require_native=_get(env, REQUIRE_NATIVE),
            ci=truthy(env.get(CI)),
        )
