"""``tenantkit migrate uploads``: a directory of legacy uploads into a tenant's storage,
local and S3 (moto server): idempotent by size and SHA-256, resumable, and every file
that cannot be migrated reported."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

import pytest

from tenantkit.cli import main
from tenantkit.errors import ProviderUnavailable
from tenantkit.lifecycle.progress import Progress
from tenantkit.lifecycle.uploads import import_uploads
from tenantkit.scoped import TenantStorage
from testharness.moto import MotoServer
from tests.lifecycle._tenants import TENANT, open_tenant

SIGNING = "local-presign-key-0123456789"


def _tree(root: Path) -> dict[str, bytes]:
    """Write the legacy uploads; the files that must arrive, by relative path."""
    files = {
        "a/b/c.txt": b"hello",
        "naïve ünï/ファイル.txt": "ünïcode ✓".encode(),
        "big.bin": secrets.token_bytes(3 * 1024 * 1024 + 5),
        "empty": b"",
        "deep/er/and/deeper/x.json": b"{}",
    }
    for n in range(30):
        files[f"many/{n:03d}.dat"] = secrets.token_bytes(n * 37)
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(body)
    (root / "back\\slash.txt").write_bytes(b"x")  # no storage key
    os.symlink("/etc/passwd", root / "link")
    os.mkfifo(root / "pipe")
    (root / os.fsdecode(b"latin-\xe9.txt")).write_bytes(b"x")
    return files


REJECTED = {
    "back\\slash.txt": "bad_key",
    "link": "symlink",
    "pipe": "not_a_file",
    "latin-\\xe9.txt": "bad_key",
}


@pytest.fixture(params=["local", "s3"])
def tenant_dir(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    storage: dict[str, Any]
    if request.param == "local":
        storage = {"provider": "local", "root": str(tmp_path / "store"), "signing_key": SIGNING}
    else:
        moto: MotoServer = request.getfixturevalue("moto_server")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", moto.region)
        bucket = f"uploads-{secrets.token_hex(4)}"
        moto.client("s3").create_bucket(Bucket=bucket)
        storage = {
            "provider": "s3",
            "bucket": bucket,
            "region": moto.region,
            "endpoint_url": moto.endpoint_url,
        }
    directory = tmp_path / "tenants"
    directory.mkdir()
    secret = {
        "schema_version": 1,
        "tenant_id": TENANT,
        "db": {"provider": "sqlite", "path": str(tmp_path / "acme.sqlite3")},
        "llm": {"provider": "echo"},
        "storage": storage,
    }
    (directory / f"{TENANT}.json").write_text(json.dumps(secret))
    return directory


@pytest.fixture
def puts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys written through ``TenantStorage.put``."""
    written: list[str] = []
    real = TenantStorage.put

    def put(self: TenantStorage, key: str, body: Any, **kwargs: Any) -> Any:
        written.append(key)
        return real(self, key, body, **kwargs)

    monkeypatch.setattr(TenantStorage, "put", put)
    return written


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status = main(["migrate", "uploads", *args, "--json"])
    out, err = capsys.readouterr()
    assert out, err
    return status, json.loads(out)


def test_uploads_arrive_once_and_every_refusal_is_reported(
    tenant_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], puts: list[str]
) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    files = _tree(uploads)
    where = ["--tenant", TENANT, "--prefix", "legacy", "--config-dir", str(tenant_dir)]
    status, summary = _run(capsys, str(uploads), *where)
    assert status == 1  # four files could not be migrated
    assert summary["verified"] is True, summary["problems"]
    assert summary["written"]["count"] == len(files)
    assert summary["written"]["bytes"] == sum(len(b) for b in files.values())
    counts = summary["sources"][str(uploads)]
    assert counts == {
        "prefix": "legacy/",
        "files": len(files) + 4,
        "uploaded": len(files),
        "unchanged": 0,
    }
    report = Path(summary["report"])
    assert report == tmp_path / f"uploads.{TENANT}.rejected"
    lines = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert {line["path"]: line["reason"] for line in lines} == REJECTED
    assert sorted(puts) == sorted(f"legacy/{name}" for name in files)

    tenant = open_tenant(tenant_dir)
    for name, body in files.items():
        key = f"legacy/{name}"
        assert b"".join(tenant.storage.stream(key)) == body
        assert tenant.storage.head(key).metadata["sha256"] == hashlib.sha256(body).hexdigest()

    # run again: nothing is sent; one file changed: only it is sent
    puts.clear()
    status, again = _run(capsys, str(uploads), *where)
    assert status == 1
    assert puts == []
    assert again["sources"][str(uploads)]["unchanged"] == len(files)
    assert again["written"] == summary["written"]
    (uploads / "a/b/c.txt").write_bytes(b"HELLO")
    status, changed = _run(capsys, str(uploads), *where)
    assert puts == ["legacy/a/b/c.txt"]
    assert changed["verified"] is True
    assert tenant.storage.get("legacy/a/b/c.txt") == b"HELLO"


def test_interrupted_uploads_resume_after_the_last_saved_file(
    tenant_dir: Path, tmp_path: Path, puts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = tmp_path / "uploads"
    for n in range(300):
        (uploads / f"{n // 100}").mkdir(parents=True, exist_ok=True)
        (uploads / f"{n // 100}" / f"{n:04d}.txt").write_text(f"file {n}")
    real_head = TenantStorage.head

    def head(self: TenantStorage, key: str) -> Any:
        if key == "1/0149.txt" and len(puts) == 149:
            raise ProviderUnavailable("storage went away")
        return real_head(self, key)

    monkeypatch.setattr(TenantStorage, "head", head)

    def run(resume: bool) -> Any:
        return import_uploads(
            open_tenant(tenant_dir),
            uploads,
            checkpoint=tmp_path / "up.checkpoint",
            report=tmp_path / "up.rejected",
            progress=Progress("migrate uploads", quiet=True),
            resume=resume,
        )

    with pytest.raises(ProviderUnavailable):
        run(resume=False)
    assert len(puts) == 149
    first = set(puts)
    puts.clear()
    resumed = run(resume=True)
    assert resumed.resumed
    assert resumed.ok, resumed.problems
    # saved after file 100: 101..149 are found unchanged, not sent again
    assert not first & set(puts)
    assert len(puts) == 151
    counts = resumed.sources[str(uploads)]
    assert (counts["uploaded"], counts["unchanged"]) == (151 + 100, 49)
    assert resumed.written.count == 300
