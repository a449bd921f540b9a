"""The `go` datasource: module versions as the go command lists them from its proxy (GOPROXY from `go env`)."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from reactor_harness.core.commands import CommandResult
from reactor_harness.updates.clients import Runner, run_client
from reactor_harness.updates.model import RegistryError

# Outside any module, in module mode, never switching toolchains on its own.
_GO_DIRECTIVE = re.compile(r"^go\s+(\S+)\s*$", re.MULTILINE)
GO_ENV = {"GO111MODULE": "on", "GOTOOLCHAIN": "local"}


def go_command(run: Runner, arguments: list[str]) -> CommandResult:
    """Run `go <arguments>` in an empty folder, so no go.mod around the caller changes the answer."""
    with tempfile.TemporaryDirectory(prefix="reactor-go-") as scratch:
        return run(["go", *arguments], cwd=Path(scratch), env=GO_ENV)


def list_module(run: Runner, query: str, versions: bool = True) -> dict[str, object]:
    """`go list -m [-versions] -json <query>` as a dict; a failure raises with go's own reason."""
    arguments = ["list", "-m", *(["-versions"] if versions else []), "-json", query]
    result = go_command(run, arguments)
    if not result.succeeded:
        raise RegistryError(f"go list -m {query}: {result.last_error_line()}")
    try:
        answer = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise RegistryError(f"go list -m {query} answered something that is not JSON") from None
    if not isinstance(answer, dict):
        raise RegistryError(f"go list -m {query} answered {type(answer).__name__}, not a module")
    return answer


class GoModules:
    """Tagged versions of a Go module (retracted versions are left out by the go command itself)."""

    def __init__(self, run: Runner = run_client) -> None:
        self.run = run

    def versions(self, dep_name: str) -> list[str]:
        answer = list_module(self.run, f"{dep_name}@latest")
        listed = answer.get("Versions") or []
        if not isinstance(listed, list):
            raise RegistryError(f"go list -m {dep_name}: Versions is not a list")
        return [str(v) for v in listed]

    def required_go(self, dep_name: str, version: str) -> str | None:
        """The `go` directive of a module version's go.mod (the oldest toolchain that builds it)."""
        answer = list_module(self.run, f"{dep_name}@{version}", versions=False)
        value = answer.get("GoVersion")
        if value:
            return str(value)
        go_mod = answer.get("GoMod")  # the go command does not always fill GoVersion; its go.mod says it
        if isinstance(go_mod, str) and Path(go_mod).is_file():
            match = _GO_DIRECTIVE.search(Path(go_mod).read_text(encoding="utf-8", errors="replace"))
            return match.group(1) if match else None
        return None
