"""The `pypi` datasource: the package index pip uses, through its JSON simple API (yanked releases excluded)."""

from __future__ import annotations

import json
import os
import re

from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

from reactor_harness.updates.clients import Fetcher, http_get
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

    def __init__(self, index_url: str | None = None, fetch: Fetcher = http_get) -> None:
        self.index_url = index_url
        self.fetch = fetch

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
        """The release's changelog (or home page) from its core metadata's Project-URLs; "" if none."""
        project = re.sub(r"[-_.]+", "-", dep_name).lower()
        base = (self.index_url or pip_index_url()).rstrip("/")
        try:
            files = json.loads(self.fetch(f"{base}/{project}/", {"Accept": SIMPLE_JSON}))["files"]
            entry = next(
                f
                for f in files
                if _file_version(str(f.get("filename", ""))) == version
                and (f.get("core-metadata") or f.get("data-dist-info-metadata"))
            )
            metadata = self.fetch(str(entry["url"]) + ".metadata", {}).decode("utf-8", "replace")
        except (RegistryError, StopIteration, KeyError, TypeError, ValueError):
            return ""
        urls: dict[str, str] = {}
        for line in metadata.splitlines():
            key, _, value = line.partition(": ")
            if key == "Project-URL" and "," in value:
                label, _, url = value.partition(",")
                urls[re.sub(r"[^a-z]", "", label.lower())] = url.strip()
            elif key == "Home-page" and value.strip():
                urls.setdefault("homepage", value.strip())
        for label in ("changelog", "changes", "releasenotes", "releases", "history", "source", "homepage"):
            if urls.get(label):
                return urls[label]
        return ""
