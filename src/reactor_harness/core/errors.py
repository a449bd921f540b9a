"""Exceptions of the harness: each names what happened and what to do about it."""

from __future__ import annotations


class HarnessError(Exception):
    """Base class of every error the harness raises on purpose."""


class DockerfileError(HarnessError):
    """A Dockerfile could not be read or does not follow the family's conventions."""


class FamilyError(HarnessError):
    """The image family under images/ is inconsistent (unknown parent, a cycle, a missing image)."""


class PlatformError(HarnessError):
    """A requested platform is malformed or unsupported."""


class EngineUnavailable(HarnessError):
    """No container engine answers, or no client that can build with BuildKit was found."""


class EngineCommandError(HarnessError):
    """An engine command exited non-zero; carries the whole result."""

    def __init__(self, message: str, result: object) -> None:
        super().__init__(message)
        self.result = result


class BootstrapError(HarnessError):
    """The Debian base OS image could not be found, pulled or bootstrapped."""


class WaitTimeout(HarnessError):
    """A readiness condition was not met before its deadline."""
