"""The Debian OS images the family builds FROM, without a container registry.

`debian:trixie-slim` is used when the engine has it (or can pull it) for the platform; otherwise it is
bootstrapped from the Debian archive with mmdebstrap (minbase, the official slim images' dpkg
path-excludes, apt caches removed), imported per platform under its own local tag, and reused.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from reactor_harness.core import environment as environment_variables
from reactor_harness.core import host
from reactor_harness.core.commands import CommandTimedOut, run_command
from reactor_harness.core.engine import LABEL_HARNESS, BuildRequest, Engine
from reactor_harness.core.environment import Environment
from reactor_harness.core.errors import BootstrapError
from reactor_harness.core.once import RunOnce
from reactor_harness.core.platforms import Platform, native_platform

BOOTSTRAP_REPOSITORY = "reactor-bootstrap/debian"
_DEBIAN_REFERENCE = re.compile(r"^(?:docker\.io/)?(?:library/)?debian:(?P<suite>[a-z]+)(?P<slim>-slim)?$")
MIRROR_ENV = environment_variables.DEBIAN_MIRROR
SECURITY_MIRROR_ENV = environment_variables.DEBIAN_SECURITY_MIRROR

# What the official slim images leave out (debuerreotype's slimify lists): docs but copyright files,
# man/info pages, translations but locale.alias, lintian overrides. Kept in the image's dpkg config so
# later `apt-get install`s in the family leave them out too.
SLIM_DPKG_OPTIONS = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/groff/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
    "path-exclude=/usr/share/lintian/*",
    "path-exclude=/usr/share/linda/*",
)
SLIM_APT_OPTIONS = ('Acquire::Languages "none"',)
# What the official images' apt configuration does for every container (debuerreotype's docker-clean and
# friends): downloaded .debs and the binary package caches are deleted after each apt run, so a RUN that
# installs packages does not keep them in its layer; suggested packages are not kept by autoremove.
CONTAINER_APT_OPTIONS = (
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
    '/var/cache/apt/*.bin || true"; }',
    'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
    '/var/cache/apt/*.bin || true"; }',
    'Dir::Cache::pkgcache ""',
    'Dir::Cache::srcpkgcache ""',
    'APT::AutoRemove::SuggestsImportant "false"',
)
RECIPE_LABEL = "org.reactor.bootstrap.recipe"


@dataclass(frozen=True)
class DebianReference:
    """A debian:<suite>[-slim] image reference."""

    suite: str
    slim: bool

    @classmethod
    def parse(cls, reference: str) -> DebianReference | None:
        match = _DEBIAN_REFERENCE.match(reference)
        if match is None:
            return None
        return cls(suite=match.group("suite"), slim=bool(match.group("slim")))

    def local_tag(self, platform: Platform) -> str:
        return f"{BOOTSTRAP_REPOSITORY}:{self.suite}{'-slim' if self.slim else ''}-{platform.arch}"


@dataclass(frozen=True)
class Mirrors:
    """Where the Debian archive is reached, as this host's apt is configured (or the env overrides)."""

    archive: str | None
    security: str | None


def _source_entries(text: str) -> Iterable[tuple[str, list[str]]]:
    """(uri, suites) pairs from a one-line .list file or a deb822 .sources file."""
    if "URIs:" in text or "Suites:" in text:
        for paragraph in re.split(r"\n\s*\n", text):
            fields: dict[str, str] = {}
            for line in paragraph.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if fields.get("enabled", "yes").lower() == "no" or "deb" not in fields.get("types", "").split():
                continue
            for uri in fields.get("uris", "").split():
                yield uri, fields.get("suites", "").split()
        return
    for line in text.splitlines():
        words = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            yield words[1], [words[2]]


def host_mirrors(apt_dir: Path = Path("/etc/apt"), environment: dict[str, str] | None = None) -> Mirrors:
    """The Debian archive and security mirrors this host's apt uses (None where not found)."""
    env = Environment.read(environment)
    archive, security = env.debian_mirror, env.debian_security_mirror
    files = [
        apt_dir / "sources.list",
        *sorted((apt_dir / "sources.list.d").glob("*.list")),
        *sorted((apt_dir / "sources.list.d").glob("*.sources")),
    ]
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        for uri, suites in _source_entries(text):
            if any(suite.endswith("-security") or suite.endswith("/updates") for suite in suites):
                security = security or uri
            elif uri.rstrip("/").endswith("/debian"):
                archive = archive or uri
    return Mirrors(archive=archive, security=security)


def mmdebstrap_command(reference: DebianReference, platform: Platform, output: Path, mirrors: Mirrors) -> list[str]:
    """The mmdebstrap command that writes a (slim) minbase rootfs tarball for the platform."""
    command = [host.MMDEBSTRAP.program, "--variant=minbase", f"--architectures={platform.arch}", "--format=tar"]
    command += [f"--aptopt={option}" for option in CONTAINER_APT_OPTIONS]
    if reference.slim:
        command += [f"--dpkgopt={option}" for option in SLIM_DPKG_OPTIONS]
        command += [f"--aptopt={option}" for option in SLIM_APT_OPTIONS]
    command += [reference.suite, str(output)]
    if mirrors.archive:
        command.append(f"deb {mirrors.archive} {reference.suite} main")
        command.append(f"deb {mirrors.archive} {reference.suite}-updates main")
        if mirrors.security:
            command.append(f"deb {mirrors.security} {reference.suite}-security main")
    return command


def recipe_digest(command: list[str]) -> str:
    """A short digest of how a rootfs is made (the command less its output path), to tell stale bootstraps."""
    stable = [word for word in command if not word.endswith(".tar")]
    return hashlib.sha256("\0".join(stable).encode("utf-8")).hexdigest()[:16]


class OsImages:
    """Provides a local, per-platform tag for each external OS image a Dockerfile builds FROM."""

    def __init__(
        self,
        engine: Engine,
        work_dir: Path,
        log: Callable[[str], None] = lambda _line: None,
        once: RunOnce | None = None,
    ) -> None:
        self.engine = engine
        self.work_dir = work_dir
        self.log = log
        self.once = once  # with it, each reference × platform is resolved once per run across workers

    def _has_image(self, reference: str, platform: Platform, recipe: str | None = None) -> bool:
        details = self.engine.inspect_image(reference)
        if details is None or details.get("Architecture") != platform.arch or details.get("Os") != platform.os:
            return False
        if recipe is None:
            return True
        labels = (details.get("Config") or {}).get("Labels") or {}
        return bool(labels.get(RECIPE_LABEL) == recipe)

    def ensure(self, reference: str, platform: Platform) -> str:
        """A local tag of `reference` for `platform`: found, pulled or bootstrapped (once per run)."""
        if self.once is None:
            return self._ensure(reference, platform)
        return self.once.get(f"os-{reference}-{platform.slug}", lambda: self._ensure(reference, platform), str, str)

    def _ensure(self, reference: str, platform: Platform) -> str:
        debian = DebianReference.parse(reference)
        local = debian.local_tag(platform) if debian else f"{reference.replace(':', '-')}-{platform.arch}"
        if self._has_image(local, platform, self._recipe(debian, platform) if debian else None):
            return local
        if self._has_image(reference, platform):
            self.engine.tag(reference, local)
            return local
        self.log(f"{reference} for {platform}: not in the engine, trying to pull it")
        pulled = self.engine.pull(reference, str(platform))
        if pulled.succeeded and self._has_image(reference, platform):
            self.engine.tag(reference, local)
            return local
        if debian is None:
            raise BootstrapError(
                f"{reference} for {platform} is not in the engine and cannot be pulled "
                f"({pulled.stderr.strip().splitlines()[-1] if pulled.stderr.strip() else 'no detail'}); "
                "load it with `docker load`, or build FROM a debian:<suite>[-slim] image the harness can bootstrap"
            )
        self.bootstrap(debian, platform, local)
        return local

    def _recipe(self, debian: DebianReference, platform: Platform) -> str:
        return recipe_digest(mmdebstrap_command(debian, platform, Path("rootfs.tar"), host_mirrors()))

    def bootstrap(self, debian: DebianReference, platform: Platform, tag: str) -> None:
        needed = host.BOOTSTRAP_TOOLS + (host.FOREIGN_BOOTSTRAP_TOOLS if platform != native_platform() else ())
        absent = host.missing(needed)
        if absent:
            raise BootstrapError(
                f"cannot bootstrap Debian for {platform}: " + "; ".join(tool.missing_hint() for tool in absent)
            )
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.work_dir, prefix=f"rootfs-{platform.arch}-") as scratch:
            context = Path(scratch)
            rootfs = context / "rootfs.tar"
            command = mmdebstrap_command(debian, platform, rootfs, host_mirrors())
            self.log(
                f"bootstrapping debian:{debian.suite}{'-slim' if debian.slim else ''} for {platform} with mmdebstrap"
            )
            try:
                completed = run_command(command, timeout=1800)
            except CommandTimedOut as error:
                raise BootstrapError(f"mmdebstrap for {platform} did not finish: {error}") from error
            if not completed.succeeded:
                tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-30:])
                raise BootstrapError(
                    f"mmdebstrap failed for {platform} (exit {completed.exit_status}); for a foreign architecture "
                    f"check the qemu binfmt handler (./setup installs it):\n{tail}"
                )
            # FROM scratch + ADD with --platform records the right architecture (docker 20.10's
            # `import --platform` would label an arm64 rootfs amd64).
            (context / "Dockerfile").write_text('FROM scratch\nADD rootfs.tar /\nCMD ["bash"]\n', encoding="utf-8")
            result = self.engine.build(
                BuildRequest(
                    dockerfile=context / "Dockerfile",
                    context=context,
                    tag=tag,
                    platform=str(platform),
                    labels={
                        LABEL_HARNESS: "bootstrap",
                        "org.reactor.bootstrap.suite": debian.suite,
                        RECIPE_LABEL: recipe_digest(command),
                    },
                    network="none",
                )
            )
            if not result.succeeded:
                raise BootstrapError(f"importing the bootstrapped rootfs as {tag} failed\n{result.describe()}")
        details = self.engine.inspect_image(tag)
        architecture = details.get("Architecture") if details else None
        if architecture != platform.arch:
            raise BootstrapError(
                f"the bootstrapped image {tag} is recorded as {architecture!r}, not {platform.arch!r}: "
                "the engine does not honour --platform on import"
            )
