"""The `pypi` datasource: the package index pip uses, through its JSON simple API (yanked releases excluded)."""

from __future__ import annotations

import json
import os
import re
import sys

from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

from reactor_harness.updates.clients import Fetcher, Runner, http_get, run_client
from reactor_harness.updates.model import RegistryError

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def pip_index_url() -> str:
    """The index pip would use: $PIP_INDEX_URL, else pip's own default."""
    configured = os.environ.get("PIP_INDEX_URL")
    if configured:
        return configured
    from pip._internal.models.index import PyPI

    return str(PyPI.simple_url)


def _file_version(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


class PythonIndex:
    """Installable versions of a distribution: those with at least one file that is not yanked."""

    def __init__(self, index_url: str | None = None, fetch: Fetcher = http_get, run: Runner = run_client) -> None:
        self.index_url = index_url
        self.fetch = fetch
        self.run = run

    def versions(self, dep_name: str) -> list[str]:
        project = re.sub(r"[-_.]+", "-", dep_name).lower()
        base = (self.index_url or pip_index_url()).rstrip("/")
        raw = self.fetch(f"{base}/{project}/", {"Accept": SIMPLE_JSON})
        try:
            files = json.loads(raw)["files"]
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
            raise RegistryError(f"the index's answer for {dep_name} is not a JSON simple-API project page") from None
        installable: dict[str, bool] = {}
        for entry in files:
            version = _file_version(str(entry.get("filename", "")))
            if version is not None:
                installable[version] = installable.get(version, False) or not entry.get("yanked", False)
        if not installable:
            raise RegistryError(f"the index lists no file for {dep_name}")
        return [version for version, usable in installable.items() if usable]

    def project_page(self, dep_name: str, version: str) -> str:
        """The release's changelog (else repository or home page), from the metadata pip reads for it."""
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed"]
        command += ["--only-binary", ":all:", "--quiet", "--report", "-", f"{dep_name}=={version}"]
        try:
            result = self.run(command, timeout=120.0)
            metadata = json.loads(result.stdout)["install"][0]["metadata"] if result.succeeded else {}
        except (RegistryError, json.JSONDecodeError, KeyError, IndexError, TypeError):
            return ""
        urls: dict[str, str] = {}
        for entry in metadata.get("project_url", []):
            label, _, url = str(entry).partition(",")
            urls.setdefault(re.sub(r"[^a-z]", "", label.lower()), url.strip())
        if metadata.get("home_page"):
            urls.setdefault("homepage", str(metadata["home_page"]))
        for label in (
            "changelog",
            "changes",
            "releasenotes",
            "releases",
            "history",
            "repository",
            "source",
            "homepage",
        ):
            if urls.get(label):
                return urls[label]
        return ""
