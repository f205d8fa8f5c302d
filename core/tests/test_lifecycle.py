"""``tenantkit tenant export | import | copy | rollback`` on the embedded providers."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from tenantkit.cli import main
from tenantkit.lifecycle.archive import tally_tenant
from tenantkit.resolver import Resolver, Tenant
from tenantkit.sources import DirectorySource

SIGNING = "local-presign-key-0123456789"


def secret(
    tenant_id: str, data: Path, db: str = "db.sqlite3", root: str = "objects"
) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "tenant_id": tenant_id,
        "db": {"provider": "sqlite", "path": str(data / db)},
        "storage": {"provider": "local", "root": str(data / root), "signing_key": SIGNING},
        "llm": {"provider": "echo"},
    }


@pytest.fixture
def config(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    for tenant in ("acme", "acme-1", "globex"):
        (directory / f"{tenant}.json").write_text(json.dumps(secret(tenant, tmp_path)))
    return directory


def resolve(config: Path, tenant_id: str) -> tuple[Resolver, Tenant]:
    resolver = Resolver(DirectorySource(config), signing_key=secrets.token_bytes(32))
    return resolver, resolver.resolve(tenant_id)


def seed(tenant: Tenant, items: int = 250) -> None:
    for n in range(items):
        tenant.db.put("notes", {"pk": f"u{n % 7}", "sk": f"n{n:04d}", "text": f"note {n} 東京"})
    tenant.db.put("profiles", {"pk": "u1", "name": "Äda", "tags": ["x", {"y": None}]})
    tenant.db.put("sessions", {"pk": "s1", "token": "t"}, ttl=3600)
    tenant.storage.put("a", b"top", content_type="text/plain")
    tenant.storage.put("a/b.bin", bytes(range(256)) * 4000, metadata={"origin": "test"})
    tenant.storage.put("reports/q3.txt", "résumé".encode(), content_type="text/plain")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_export_then_import_into_another_tenant_is_verified(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    resolver, acme = resolve(config, "acme")
    seed(acme)
    resolve(config, "acme-1")[1].db.put("notes", {"pk": "not-acme"})  # a tenant id extending acme
    want = tally_tenant(acme)
    out_dir = tmp_path / "export"
    status, out, err = run(
        capsys, "tenant", "export", "acme", str(out_dir), "--config-dir", str(config)
    )
    assert status == 0, err
    assert "252 items, 3 objects" in out
    assert "items/s" in err
    assert "MiB/s" in err
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["items"]["count"] == 252
    assert manifest["items"]["by_collection"] == {"notes": 250, "profiles": 1, "sessions": 1}
    assert manifest["items"]["digest"] == want[0].hexdigest
    assert manifest["objects"] == {**manifest["objects"], "count": 3, "digest": want[1].hexdigest}
    lines = (out_dir / "items.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 252
    session = next(json.loads(line) for line in lines if '"sessions"' in line)
    assert session["expires_at"] > time.time() + 3500  # TTL kept
    files = {
        o["key"]: o["file"]
        for o in map(json.loads, (out_dir / "objects.jsonl").read_text().splitlines())
    }
    assert files["reports/q3.txt"] == "files/reports/q3.txt"
    assert (out_dir / "files/reports/q3.txt").read_text() == "résumé"
    assert files["a"] == "files/a"
    assert files["a/b.bin"].startswith("conflicts/")  # "a" is a file: no directory "a/"
    assert (out_dir / files["a/b.bin"]).read_bytes() == bytes(range(256)) * 4000
    assert "not-acme" not in (out_dir / "items.jsonl").read_text()

    status, out, err = run(
        capsys, "tenant", "import", "globex", str(out_dir), "--config-dir", str(config), "--json"
    )
    assert status == 0, err
    result = json.loads(out)
    assert result["verified"] is True
    assert result["items"]["digest"] == want[0].hexdigest
    progress = [json.loads(line) for line in err.splitlines()]
    assert progress[-1]["final"] is True
    assert progress[-1]["total_items"] == 255
    globex = resolve(config, "globex")[1]
    assert tally_tenant(globex) == want
    head = globex.storage.head("a/b.bin")
    assert head.metadata == {"origin": "test"}
    assert globex.storage.head("a").content_type == "text/plain"
    # idempotent: a second import changes nothing and verifies again
    assert (
        run(
            capsys,
            "tenant",
            "import",
            "globex",
            str(out_dir),
            "--config-dir",
            str(config),
            "--quiet",
        )[0]
        == 0
    )
    assert tally_tenant(globex) == want
    resolver.close()


def test_import_refuses_a_corrupted_export_before_writing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, acme = resolve(config, "acme")
    seed(acme, items=5)
    out_dir = tmp_path / "export"
    assert (
        run(
            capsys, "tenant", "export", "acme", str(out_dir), "--config-dir", str(config), "--quiet"
        )[0]
        == 0
    )
    blob = out_dir / "files" / "reports/q3.txt"
    blob.write_bytes(b"tampered")
    status, _, err = run(
        capsys, "tenant", "import", "globex", str(out_dir), "--config-dir", str(config)
    )
    assert status == 1
    assert "reports/q3.txt" in err
    assert "checksum" in err
    globex = resolve(config, "globex")[1]
    assert tally_tenant(globex)[0].count == 0  # nothing written
    # an export into a non-empty directory is refused
    status, _, err = run(
        capsys, "tenant", "export", "acme", str(out_dir), "--config-dir", str(config)
    )
    assert status == 1
    assert "not empty" in err


def test_import_refuses_paths_outside_the_export(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, acme = resolve(config, "acme")
    seed(acme, items=2)
    out_dir = tmp_path / "export"
    assert (
        run(
            capsys, "tenant", "export", "acme", str(out_dir), "--config-dir", str(config), "--quiet"
        )[0]
        == 0
    )
    manifest = json.loads((out_dir / "manifest.json").read_text())
    manifest["items"]["file"] = "../config/acme.json"
    (out_dir / "manifest.json").write_text(json.dumps(manifest))
    status, _, err = run(
        capsys, "tenant", "import", "globex", str(out_dir), "--config-dir", str(config)
    )
    assert status == 1
    assert "outside the export" in err


def test_copy_to_new_providers_cuts_over_and_rolls_back(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, acme = resolve(config, "acme")
    seed(acme)
    want = tally_tenant(acme)
    target = tmp_path / "acme-new.json"
    target.write_text(
        json.dumps(secret("acme", tmp_path / "new", db="new.sqlite3", root="new-objects"))
    )
    (tmp_path / "new").mkdir()
    status, out, err = run(
        capsys, "tenant", "copy", "acme", "--to", str(target), "--config-dir", str(config)
    )
    assert status == 0, err
    assert "cut over" in out
    assert "verified" in out
    current = json.loads((config / "acme.json").read_text())
    assert current["db"]["path"].endswith("new.sqlite3")
    assert json.loads((config / "acme.json.previous").read_text())["db"]["path"].endswith(
        "db.sqlite3"
    )
    moved = resolve(config, "acme")[1]
    assert moved.db.provider == "sqlite"
    assert tally_tenant(moved) == want
    assert moved.storage.get("a/b.bin") == bytes(range(256)) * 4000

    status, out, _ = run(capsys, "tenant", "rollback", "acme", "--config-dir", str(config))
    assert status == 0
    assert json.loads((config / "acme.json").read_text())["db"]["path"].endswith("db.sqlite3")
    assert tally_tenant(resolve(config, "acme")[1]) == want


def _target(tmp_path: Path) -> Path:
    (tmp_path / "new").mkdir(exist_ok=True)
    target = tmp_path / "acme-new.json"
    target.write_text(
        json.dumps(secret("acme", tmp_path / "new", db="new.sqlite3", root="new-objects"))
    )
    return target


def test_an_interrupted_copy_resumes_without_redoing_finished_pages(
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tenantkit.errors import ProviderUnavailable
    from tenantkit.providers.sqlite import SqliteDatabase

    _, acme = resolve(config, "acme")
    seed(acme, items=450)  # 452 items: 5 pages of 100
    want = tally_tenant(acme)
    target = _target(tmp_path)
    restored: list[int] = []
    real_restore = SqliteDatabase.restore

    def failing_restore(self: SqliteDatabase, ns: str, collection: str, items: Any) -> None:
        if len(restored) == 3:
            raise ProviderUnavailable("the target went away")
        real_restore(self, ns, collection, items)
        restored.append(len(items))

    monkeypatch.setattr(SqliteDatabase, "restore", failing_restore)
    args = ["tenant", "copy", "acme", "--to", str(target), "--config-dir", str(config), "--quiet"]
    status, _, err = run(capsys, *args)
    assert status == 1
    assert "ProviderUnavailable" in err
    checkpoint = json.loads((tmp_path / "acme-new.json.checkpoint").read_text())
    assert checkpoint["phase"] == "items"
    assert checkpoint["items"]["count"] == sum(restored)
    assert json.loads((config / "acme.json").read_text())["db"]["path"].endswith("db.sqlite3")

    monkeypatch.setattr(SqliteDatabase, "restore", real_restore)
    calls: list[int] = []

    def counting_restore(self: SqliteDatabase, ns: str, collection: str, items: Any) -> None:
        calls.append(len(items))
        real_restore(self, ns, collection, items)

    monkeypatch.setattr(SqliteDatabase, "restore", counting_restore)
    status, out, err = run(capsys, *args)
    assert status == 0, err
    assert sum(restored) + sum(calls) == want[0].count  # no item written twice
    assert "cut over" in out
    assert tally_tenant(resolve(config, "acme")[1]) == want


def test_writes_made_during_the_copy_reach_the_target(
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tenantkit.providers.sqlite import SqliteDatabase

    _, acme = resolve(config, "acme")
    seed(acme, items=300)
    target = _target(tmp_path)
    real_restore = SqliteDatabase.restore
    calls: list[str] = []

    def restore_while_writing(self: SqliteDatabase, ns: str, collection: str, items: Any) -> None:
        real_restore(self, ns, collection, items)
        calls.append(collection)
        if len(calls) == 2:  # the application writes while the copy runs
            acme.db.put("notes", {"pk": "u0", "sk": "n0000", "text": "changed"})  # copied already
            acme.db.delete("notes", "u1", "n0001")  # copied already
            acme.db.put("notes", {"pk": "zz", "sk": "late", "text": "new"})
            acme.storage.put("a", b"changed too")
            acme.storage.delete("reports/q3.txt")

    monkeypatch.setattr(SqliteDatabase, "restore", restore_while_writing)
    status, out, err = run(
        capsys, "tenant", "copy", "acme", "--to", str(target), "--config-dir", str(config), "--json"
    )
    assert status == 0, err
    result = json.loads(out)
    final = tally_tenant(acme)
    assert result["items"]["digest"] == final[0].hexdigest
    assert result["objects"]["digest"] == final[1].hexdigest
    moved = resolve(config, "acme")[1]
    assert tally_tenant(moved) == final
    changed = moved.db.get("notes", "u0", "n0000")
    assert changed is not None
    assert changed["text"] == "changed"
    assert moved.db.get("notes", "u1", "n0001") is None
    assert moved.storage.get("a") == b"changed too"
    assert not moved.storage.exists("reports/q3.txt")
