"""The generated vulnerability DB: bbolt structure, Trivy's layout, and the real Trivy reading it (no engine)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from reactor_harness.checks.security.findings import parse_report
from reactor_harness.checks.security.trivy import Trivy, TrivyNotFound, find_trivy
from reactor_harness.checks.security.vulndb import read_db_metadata
from reactor_harness.plugin.outcomes import skip_or_fail
from trivydb import (
    BOLT_MAGIC,
    META,
    Advisory,
    BoltWriter,
    DataSource,
    TrivyDbError,
    db_tree,
    fnv1a_64,
    installed_sources,
    write_trivy_db,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "trivy"

DPKG_STATUS = """\
Package: curl
Status: install ok installed
Architecture: amd64
Version: 8.14.1-2+deb13u7
Description: command line tool for transferring data with URL syntax

Package: libssl3t64
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.5.9-1~deb13u1
Description: Secure Sockets Layer toolkit - shared libraries

Package: sudo
Status: install ok installed
Architecture: amd64
Version: 1.9.16p2-3+deb13u5
Description: Provide limited super user privileges to specific users

"""


@pytest.fixture(scope="module")
def trivy(request) -> Trivy:
    settings = request.getfixturevalue("harness_settings")
    try:
        return Trivy(find_trivy())
    except TrivyNotFound as error:
        skip_or_fail(settings, str(error))
        raise


@pytest.fixture
def debian_rootfs(tmp_path) -> Path:
    """A Debian 13 root filesystem as Trivy sees one: os-release and dpkg's status file."""
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text('ID=debian\nVERSION_ID="13"\nPRETTY_NAME="Debian GNU/Linux 13 (trixie)"\n')
    (root / "etc" / "debian_version").write_text("13.8\n")
    (root / "var" / "lib" / "dpkg").mkdir(parents=True)
    (root / "var" / "lib" / "dpkg" / "status").write_text(DPKG_STATUS)
    return root


def scan_rootfs(trivy: Trivy, rootfs: Path, db_root: Path, *extra: str):
    output = db_root / "report.json"
    result = trivy.call(
        "rootfs",
        "--scanners",
        "vuln",
        "--skip-db-update",
        "--cache-dir",
        str(db_root),
        "--cache-backend",
        "memory",
        "--format",
        "json",
        "--output",
        str(output),
        "--skip-version-check",
        "--disable-telemetry",
        *extra,
        str(rootfs),
    )
    assert result.succeeded, result.describe()
    return parse_report(output)


def test_fnv1a_matches_the_published_test_vectors():
    """bbolt checksums its meta pages with 64-bit FNV-1a."""
    assert fnv1a_64(b"") == 0xCBF29CE484222325
    assert fnv1a_64(b"a") == 0xAF63DC4C8601EC8C
    assert fnv1a_64(b"foobar") == 0x85944171F73967E8


def test_meta_pages_carry_magic_version_and_checksum(tmp_path):
    path = tmp_path / "x.db"
    BoltWriter().write(path, {b"bucket": {b"key": b"value"}})
    data = path.read_bytes()
    assert len(data) % 4096 == 0
    for page in (0, 1):
        fields = data[page * 4096 + 16 : page * 4096 + 16 + META.size]
        magic, version, page_size, *_rest, txid = META.unpack(fields)
        assert (magic, version, page_size, txid) == (BOLT_MAGIC, 2, 4096, page)
        (checksum,) = struct.unpack_from("<Q", data, page * 4096 + 16 + META.size)
        assert checksum == fnv1a_64(fields)
    high_water_mark = META.unpack(data[16 : 16 + META.size])[7]
    assert high_water_mark * 4096 == len(data)


def test_empty_keys_are_refused(tmp_path):
    with pytest.raises(TrivyDbError, match="cannot be empty"):
        BoltWriter().write(tmp_path / "x.db", {b"": b"value"})


def test_advisories_land_in_trivys_buckets():
    tree = db_tree(
        [
            Advisory("CVE-1", "curl", "HIGH", "fixed one", "8.0-1"),
            Advisory("CVE-2", "openssl", "CRITICAL", "unfixed one"),
        ],
        source=DataSource(),
    )
    assert json.loads(tree[b"debian 13"][b"curl"][b"CVE-1"]) == {"FixedVersion": "8.0-1"}
    assert json.loads(tree[b"debian 13"][b"openssl"][b"CVE-2"]) == {"Severity": 4, "Status": 2}
    detail = json.loads(tree[b"vulnerability"][b"CVE-2"])
    assert (detail["Title"], detail["Severity"], detail["VendorSeverity"]) == ("unfixed one", "CRITICAL", {"debian": 4})
    assert json.loads(tree[b"data-source"][b"debian 13"])["ID"] == "debian"


def test_a_severity_trivy_does_not_know_is_refused():
    with pytest.raises(TrivyDbError, match="severity 'SEVERE'"):
        Advisory("CVE-1", "curl", "SEVERE", "x")


def test_metadata_says_schema_2_and_fresh(tmp_path):
    db_dir = write_trivy_db(tmp_path, [])
    metadata = json.loads((db_dir / "metadata.json").read_text())
    assert set(metadata) == {"Version", "NextUpdate", "UpdatedAt", "DownloadedAt"}
    assert metadata["Version"] == 2
    parsed = read_db_metadata(tmp_path)
    assert parsed is not None
    assert parsed.next_update is not None
    assert parsed.updated_at is not None
    assert parsed.next_update > parsed.updated_at


def test_installed_sources_use_the_source_package_and_its_full_version():
    report = parse_report(FIXTURES / "image-base-clean.json")
    sources = installed_sources(report.packages("os-pkgs"))
    assert sources["openssl"].version == "3.5.9-1~deb13u1"  # from libssl3t64 and openssl
    assert sources["git"].version == "1:2.47.3-0+deb13u1"  # the epoch is kept
    assert "libssl3t64" not in sources


def test_trivy_reads_the_generated_db(trivy, debian_rootfs, tmp_path):
    """The real Trivy reports a HIGH fixed in a newer revision and an unfixed CRITICAL, not an old fix."""
    db_root = tmp_path / "cache"
    write_trivy_db(
        db_root,
        [
            Advisory("CVE-2099-1", "curl", "HIGH", "newer fix", "8.14.1-2+deb13u8"),
            Advisory("CVE-2099-2", "openssl", "CRITICAL", "no fix"),
            Advisory("CVE-2099-3", "sudo", "HIGH", "old fix", "1.8.0-1"),
        ],
    )
    report = scan_rootfs(trivy, debian_rootfs, db_root)
    found = {(v.id, v.package, v.severity, v.fixed_version, v.title) for v in report.vulnerabilities}
    assert found == {
        ("CVE-2099-1", "curl", "HIGH", "8.14.1-2+deb13u8", "newer fix"),
        ("CVE-2099-2", "libssl3t64", "CRITICAL", None, "no fix"),
    }
    unfixed_dropped = scan_rootfs(trivy, debian_rootfs, db_root, "--ignore-unfixed")
    assert {v.id for v in unfixed_dropped.vulnerabilities} == {"CVE-2099-1"}


def test_trivy_reads_buckets_spanning_overflow_pages(trivy, debian_rootfs, tmp_path):
    """A bucket larger than a page (here 400 advisories on curl) is read whole."""
    db_root = tmp_path / "cache"
    advisories = [Advisory(f"CVE-2099-{n:05d}", "curl", "HIGH", f"flaw {n}", "8.14.1-2+deb13u8") for n in range(400)]
    write_trivy_db(db_root, advisories)
    assert (db_root / "db" / "trivy.db").stat().st_size > 10 * 4096
    report = scan_rootfs(trivy, debian_rootfs, db_root)
    assert len({v.id for v in report.vulnerabilities}) == 400
