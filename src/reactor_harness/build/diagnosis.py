"""Why a build failed, in the user's terms: the pin (ARG and its Dockerfile line) behind the error in the log.

Reads a BuildKit `--progress plain` log and the image's Dockerfile model. Three causes are recognised:
apt cannot find a pinned version, a checksum does not match, a download failed. Anything else is described
by the failing step alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reactor_harness.family.dockerfile import Dockerfile, Pin

# BuildKit prefixes each output line with "#<step> <seconds> "; the patterns below match what follows.
_LOG_PREFIX = re.compile(r"^#\d+ (?:\d+\.\d+ )?")
_APT_VERSION = re.compile(r"E: Version '(?P<version>[^']+)' for '(?P<package>[^']+)' was not found")
_HEX = re.compile(r"\b[0-9a-f]{64,128}\b")
_CHECKSUM_FAILED = re.compile(r"(?P<file>\S+): FAILED|checksum mismatch|did NOT match|SECURITY ERROR|Checksum")
_NPM_404 = re.compile(r"404 +'?(?P<package>[@\w./-]+@[\w.~^-]+)'? is not in this registry")
_NETWORK = re.compile(
    r"(?P<what>ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|SELF_SIGNED_CERT_IN_CHAIN|"
    r"UNABLE_TO_GET_ISSUER_CERT_LOCALLY|Could not resolve host|Temporary failure resolving|"
    r"Connection timed out|certificate verify failed|x509: certificate)"
)
_COMPLAINT = re.compile(r"Permission denied|No such file or directory|command not found|cannot |No space left")
_PACKAGE_SPEC = re.compile(r"\"?(?P<package>[@a-z0-9][\w./@+-]*)@(?P<version>[\w.~^+-]+)\"?")

NETWORK_HINT = (
    "the build could not reach the registry: check the network and proxy; behind a TLS-intercepting proxy pass "
    "its CA with --build-ca-bundle"
)

# Versions a Debian suite offers for a binary package; raises on failure (the diagnosis then says so).
VersionLookup = Callable[[str], Sequence[str]]


@dataclass(frozen=True)
class BuildDiagnosis:
    """The cause of a failed build in one line, and the pin it points at (if any)."""

    cause: str
    pin: str | None = None  # "ARG NAME (Dockerfile:line)"


def _output_lines(log: str) -> list[str]:
    return [_LOG_PREFIX.sub("", line) for line in log.splitlines()]


def _pin_for_version(dockerfile: Dockerfile, package: str, version: str) -> Pin | None:
    """The ARG whose value produced `version`: its Renovate depName names the package, or its value matches."""
    bare = version.split("-*")[0].rstrip("*").rstrip("-")
    pins = [pin for pin in dockerfile.pins if not pin.is_checksum]
    for pin in pins:
        if pin.dep_name == package and pin.value == bare:
            return pin
    return next((pin for pin in pins if pin.value == bare), None)


def _where(pin: Pin) -> str:
    return f"ARG {pin.name}={pin.value} ({pin.dockerfile.name}:{pin.line})"


def _apt_version(log: str, dockerfile: Dockerfile, offered: VersionLookup | None) -> BuildDiagnosis | None:
    found = [m for m in (_APT_VERSION.search(line) for line in _output_lines(log)) if m]
    missing = list({(m.group("package"), m.group("version")): m for m in found}.values())  # stages repeat it
    if not missing:
        return None
    first = missing[0]
    package, version = first.group("package"), first.group("version")
    pin = _pin_for_version(dockerfile, package, version)
    where = f"pinned by {_where(pin)} in {pin.dockerfile}" if pin else "(no ARG of the Dockerfile holds it)"
    offers = ""
    if offered is not None:
        try:
            versions = list(offered(pin.dep_name or package if pin else package))
            offers = f"; apt offers {', '.join(versions[-5:]) or 'no version'}"
        except Exception as error:
            offers = f"; the versions apt offers could not be looked up ({str(error)[:160]})"
    more = f" (and {len(missing) - 1} more missing)" if len(missing) > 1 else ""
    cause = f"apt has no version {version} of {package}{more}: {where}{offers}"
    return BuildDiagnosis(cause, _where(pin) if pin else None)


def _checksum(log: str, dockerfile: Dockerfile, failed_step: str) -> BuildDiagnosis | None:
    lines = _output_lines(log)
    if not any(_CHECKSUM_FAILED.search(line) for line in lines):
        return None
    checksum_pins = [pin for pin in dockerfile.pins if pin.is_checksum]
    expected = next((pin for pin in checksum_pins if pin.value in log), None)
    digests = {digest for line in lines for digest in _HEX.findall(line) if "FAILED" in line or "got" in line}
    if expected is None:
        expected = next((pin for pin in checksum_pins if pin.name.split("_")[0] in failed_step.upper()), None)
    actual = sorted(d for d in digests if expected is None or d != expected.value)
    pinned = f"{_where(expected)} expects {expected.value}" if expected else "the pinned digest"
    computed = f"the download has {actual[0]}" if actual else "the computed digest is not in the log"
    return BuildDiagnosis(f"checksum mismatch: {pinned}; {computed}", _where(expected) if expected else None)


def _download(log: str) -> BuildDiagnosis | None:
    lines = _output_lines(log)
    for line in lines:
        missing = _NPM_404.search(line)
        if missing:
            return BuildDiagnosis(f"download failed: {missing.group('package')} is not in the registry (404)")
    for line in lines:
        network = _NETWORK.search(line)
        if network:
            spec = next((m.group(0).strip('"') for m in map(_PACKAGE_SPEC.search, lines) if m), "a package")
            return BuildDiagnosis(f"download of {spec} failed ({network.group('what')}): {NETWORK_HINT}")
    return None


def diagnose(
    log: str, dockerfile: Dockerfile, failed_step: str | None, offered: VersionLookup | None = None
) -> BuildDiagnosis:
    """The cause of a failed build, from its log: a missing apt version, a checksum mismatch, a failed download."""
    found = _apt_version(log, dockerfile, offered) or _checksum(log, dockerfile, failed_step or "") or _download(log)
    if found is not None:
        return found
    lines = _output_lines(log)
    # A command's own complaint ("Permission denied", "No such file") says more than BuildKit's exit line.
    said = [line for line in lines if _COMPLAINT.search(line)]
    errors = said or [line for line in lines if line.startswith(("E: ", "error:", "ERROR: ", "npm error"))]
    detail = errors[0][:200] if errors else (failed_step or "see the log")
    return BuildDiagnosis(f"failing step {(failed_step or '?')[:160]}: {detail}")
