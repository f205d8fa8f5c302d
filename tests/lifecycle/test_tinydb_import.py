"""``tenantkit migrate tinydb`` on a database written by the real ``tinydb`` package.

The file (``tinydb.storages.JSONStorage``: ``{"table": {"id": {...}}}``) holds a few
thousand documents in several tables, with awkward ones: unicode, nested, large, too
large for DynamoDB (400 KB an item), missing key fields, ids that are not integers,
field names and values no provider keeps. It is imported into sqlite, DynamoDB (moto
server) and PostgreSQL; every rejected document is in the report with its table and
id; an interrupted import resumes after its last finished page.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from tinydb import TinyDB
from tinydb.table import Document, Table

from tenantkit.cli import main
from tenantkit.errors import InvalidRequest, ProviderUnavailable
from tenantkit.lifecycle.archive import tally_tenant
from tenantkit.lifecycle.mapping import MappingFile, load_mapping
from tenantkit.lifecycle.progress import Progress
from tenantkit.lifecycle.tinydb_file import Document as Read
from tenantkit.lifecycle.tinydb_file import read_tinydb
from tenantkit.lifecycle.tinydb_import import import_tinydb
from tenantkit.resolver import Tenant
from tenantkit.scoped import TenantDatabase
from testharness.moto import MotoServer
from testharness.postgres import PostgresServer
from tests.lifecycle._tenants import TENANT, open_tenant

SIGNING = "local-presign-key-0123456789"
MAPPING = {
    "version": 1,
    "tables": {
        "_default": {"collection": "notes"},
        "users": {"pk": "email", "id_field": "legacy_id"},
        "attachments": {"pk": "owner", "sk": "$id"},
    },
}
NOTES, USERS, ATTACHMENTS = 2400, 600, 200


class _TextIdTable(Table):
    """A table whose document ids are text (TinyDB's ``document_id_class``)."""

    document_id_class = str  # type: ignore[assignment]


class _TextIdDB(TinyDB):
    table_class = _TextIdTable


def write_legacy_db(path: Path) -> dict[tuple[str, str], str]:
    """Write the test database with ``tinydb``; the rejections it must cause (by
    (table, doc id)) except ``refused`` (which depends on the provider)."""
    rejected: dict[tuple[str, str], str] = {}
    db = TinyDB(path)
    db.insert_multiple(
        {
            "n": n,
            "title": f"note {n} ✓ naïve",
            "tags": ["a", "b"][: n % 3],
            "nested": {"level1": {"level2": [n, {"deep": "ü", "none": None}]}},
            "ratio": n / 7,
        }
        for n in range(NOTES)
    )
    users = db.table("users")
    users.insert_multiple(
        {"email": f"user{n}@example.com", "name": "Zoë 😀 李" if n == 7 else f"user {n}"}
        for n in range(USERS)
    )
    for doc, reason in (
        ({"name": "no email"}, "missing_key_field"),
        ({"email": ["a@example.com"]}, "bad_key"),
        ({"email": "user3@example.com", "name": "twin"}, "duplicate_key"),
        ({"email": "pk@example.com", "pk": "x"}, "reserved_field"),
        ({"email": "space@example.com", "first name": "A"}, "bad_field_name"),
        ({"email": "nan@example.com", "score": float("nan")}, "not_json"),
        ({"email": "nul@example.com", "bio": "a\x00b"}, "not_json"),
        ({"email": "sur@example.com", "bio": "\ud800"}, "not_json"),
        ({"email": "legacy@example.com", "legacy_id": 1}, "id_field_taken"),
    ):
        rejected[("users", str(users.insert(doc)))] = reason
    attachments = db.table("attachments")
    attachments.insert_multiple(
        {"owner": f"user{n % 40}@example.com", "blob": "x" * 1000} for n in range(ATTACHMENTS)
    )
    attachments.insert_multiple({"owner": "big@example.com", "blob": "y" * 300_000} for _ in "ab")
    attachments.insert({"owner": 42, "blob": "an integer key is written in decimal"})
    rejected[("attachments", str(attachments.insert({"owner": 4.5})))] = "bad_key"
    db.table("empty").insert({"x": 1})
    db.table("empty").truncate()
    db.close()
    texts = _TextIdDB(path)
    legacy = texts.table("legacy")
    legacy.insert(Document({"name": "ключ", "nested": [[[]]]}, doc_id="ключ"))
    legacy.insert(Document({"name": "dash"}, doc_id="a-1"))
    legacy.insert(Document({"name": "long"}, doc_id="x" * 1100))
    legacy.insert(Document({"name": "nul"}, doc_id="with\x00nul"))
    texts.close()
    rejected[("legacy", "x" * 1100)] = "bad_key"
    rejected[("legacy", "with\x00nul")] = "bad_key"
    return rejected


def _too_large(path: Path) -> str:
    """Add a document of 600 KB (over DynamoDB's 400 KB item limit); its id."""
    db = TinyDB(path)
    doc_id = db.table("attachments").insert({"owner": "huge@example.com", "blob": "z" * 600_000})
    db.close()
    return str(doc_id)


@pytest.fixture
def legacy_db(tmp_path: Path) -> tuple[Path, dict[tuple[str, str], str]]:
    path = tmp_path / "legacy.json"
    rejected = write_legacy_db(path)
    rejected[("attachments", _too_large(path))] = "refused?"
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING))
    return path, rejected


def _secret(tmp_path: Path, db: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "tenant_id": TENANT,
        "db": db,
        "llm": {"provider": "echo"},
        "storage": {"provider": "local", "root": str(tmp_path / "files"), "signing_key": SIGNING},
    }


def _config_dir(tmp_path: Path, db: dict[str, Any], name: str = "tenants") -> Path:
    """A configuration directory holding the tenant's secret, with this database section."""
    directory = tmp_path / name
    directory.mkdir()
    (directory / f"{TENANT}.json").write_text(json.dumps(_secret(tmp_path, db)))
    return directory


@pytest.fixture(params=["sqlite", "dynamodb", "postgres"])
def tenant_dir(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A config directory with the tenant's secret on the parametrized provider."""
    if request.param == "sqlite":
        db: dict[str, Any] = {"provider": "sqlite", "path": str(tmp_path / "acme.sqlite3")}
    elif request.param == "dynamodb":
        moto: MotoServer = request.getfixturevalue("moto_server")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", moto.region)
        monkeypatch.setenv("TENANTKIT_CACHE_DIR", str(tmp_path / "cache"))
        db = {
            "provider": "dynamodb",
            "table": f"legacy-{secrets.token_hex(4)}",
            "region": moto.region,
            "endpoint_url": moto.endpoint_url,
        }
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres_server")
        db = {"provider": "postgres", "dsn": postgres.create_database(f"m_{secrets.token_hex(4)}")}
    directory = _config_dir(tmp_path, db)
    tenant = open_tenant(directory)
    tenant.provider_instance("db").ensure_schema(tenant.schema)
    return directory


def _report(path: Path) -> dict[tuple[str, str], str]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(set(line) == {"table", "doc_id", "reason", "detail"} for line in lines)
    return {(line["table"], line["doc_id"]): line["reason"] for line in lines}


def _import(
    tenant: Tenant, db: Path, tmp_path: Path, *, resume: bool = False, mapping: Any = MAPPING
) -> Any:
    return import_tinydb(
        tenant,
        db,
        MappingFile.model_validate(mapping),
        checkpoint=tmp_path / "import.checkpoint",
        report=tmp_path / "import.rejected",
        progress=Progress("migrate tinydb", quiet=True),
        resume=resume,
    )


def test_the_legacy_database_is_imported_with_every_rejection_reported(
    tenant_dir: Path,
    legacy_db: tuple[Path, dict[tuple[str, str], str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, expected = legacy_db
    dynamodb = "dynamodb" in (tenant_dir / f"{TENANT}.json").read_text()
    huge = next(key for key, reason in expected.items() if reason == "refused?")
    expected = {k: v for k, v in expected.items() if v != "refused?"}
    if dynamodb:
        expected[huge] = "refused"
    status = main(
        [
            "migrate",
            "tinydb",
            str(path),
            "--tenant",
            TENANT,
            "--mapping",
            str(tmp_path / "mapping.json"),
            "--config-dir",
            str(tenant_dir),
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert status == 1, err  # documents were rejected
    summary = json.loads(out)
    assert summary["verified"] is True, summary["problems"]
    report = Path(summary["report"])
    assert report == path.with_name(f"{path.name}.{TENANT}.rejected")
    assert _report(report) == expected
    assert summary["rejected"] == len(expected)
    attachments = ATTACHMENTS + 3 + (0 if dynamodb else 1)
    assert summary["written"]["by_collection"] == {
        "notes": NOTES,
        "users": USERS,
        "attachments": attachments,
        "legacy": 2,
    }
    assert summary["sources"]["users"] == {
        "collection": "users",
        "read": USERS + 9,
        "imported": USERS,
        "rejected": 9,
    }
    assert summary["sources"]["empty"]["read"] == 0
    assert '"progress": "migrate tinydb"' in err

    tenant = open_tenant(tenant_dir)
    items, _ = tally_tenant(tenant, with_storage=False)
    assert items.count == summary["written"]["count"]
    assert items.hexdigest == summary["written"]["digest"]
    zoe = tenant.db.get("users", "user7@example.com")
    assert zoe is not None
    assert zoe.data == {"email": "user7@example.com", "name": "Zoë 😀 李", "legacy_id": 8}
    note = tenant.db.get("notes", "18")  # TinyDB's ids start at 1
    assert note is not None
    assert note["nested"] == {"level1": {"level2": [17, {"deep": "ü", "none": None}]}}
    assert note["ratio"] == 17 / 7
    legacy = tenant.db.get("legacy", "ключ")
    assert legacy is not None
    assert legacy.data == {"name": "ключ", "nested": [[[]]]}
    big = tenant.db.query("attachments", "big@example.com").items
    assert [len(i["blob"]) for i in big] == [300_000, 300_000]
    assert tenant.db.query("attachments", "42").items[0]["owner"] == 42


def test_an_interrupted_import_resumes_after_its_last_finished_page(
    legacy_db: tuple[Path, dict[tuple[str, str], str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, _ = legacy_db
    directory = _config_dir(
        tmp_path, {"provider": "sqlite", "path": str(tmp_path / "acme.sqlite3")}
    )
    pages: list[list[tuple[str, str, str]]] = []
    real_restore = TenantDatabase.restore
    fail_at = [9]

    def restore(self: TenantDatabase, collection: str, items: Any) -> None:
        if len(pages) + 1 == fail_at[0]:
            fail_at[0] = 0
            raise ProviderUnavailable("the database went away")
        pages.append([(collection, i.pk, i.sk) for i in items])
        real_restore(self, collection, items)

    monkeypatch.setattr(TenantDatabase, "restore", restore)
    with pytest.raises(ProviderUnavailable):
        _import(open_tenant(directory), path, tmp_path)
    first = [key for page in pages for key in page]
    assert len(pages) == 8
    pages.clear()
    resumed = _import(open_tenant(directory), path, tmp_path, resume=True)
    assert resumed.resumed
    assert resumed.verified, resumed.problems
    again = [key for page in pages for key in page]
    assert not set(first) & set(again), "a finished page was written again"
    assert len(first) + len(again) == resumed.written.count

    # the same import uninterrupted, in another tenant database, gives the same data
    db = {"provider": "sqlite", "path": str(tmp_path / "other.sqlite3")}
    other = _config_dir(tmp_path, db, "other")
    whole = _import(open_tenant(other), path, tmp_path / "other")
    assert whole.written == resumed.written
    assert whole.rejected == resumed.rejected

    # resumed once more, when it is done: nothing is written again
    pages.clear()
    done = _import(open_tenant(directory), path, tmp_path, resume=True)
    assert pages == []
    assert done.written == resumed.written
    assert done.verified


def test_an_import_run_again_changes_nothing(
    legacy_db: tuple[Path, dict[tuple[str, str], str]], tmp_path: Path
) -> None:
    path, _ = legacy_db
    directory = _config_dir(
        tmp_path, {"provider": "sqlite", "path": str(tmp_path / "acme.sqlite3")}
    )
    first = _import(open_tenant(directory), path, tmp_path)
    second = _import(open_tenant(directory), path, tmp_path)
    assert not second.resumed
    assert second.written == first.written
    assert second.verified
    assert tally_tenant(open_tenant(directory), with_storage=False)[0].count == first.written.count
    # the tenant written to since: the verification names the collection
    open_tenant(directory).db.put("notes", {"pk": "new"})
    third = _import(open_tenant(directory), path, tmp_path)
    assert third.problems == [f"collection 'notes': {NOTES + 1} items found, {NOTES} imported"]


def test_the_default_mapping_keys_by_document_id(tmp_path: Path) -> None:
    path = tmp_path / "plain.json"
    db = TinyDB(path)
    db.insert_multiple({"n": n} for n in range(250))
    db.table("orders").insert({"total": 3})
    db.close()
    directory = _config_dir(tmp_path, {"provider": "sqlite", "path": str(tmp_path / "a.sqlite3")})
    summary = _import(open_tenant(directory), path, tmp_path, mapping={})
    assert summary.ok
    assert summary.written.by_collection == {"default": 250, "orders": 1}
    tenant = open_tenant(directory)
    item = tenant.db.get("default", "250")
    assert item is not None
    assert (item.pk, item.sk, item.data) == ("250", "", {"n": 249})
    assert tenant.db.get("orders", "1") is not None


@pytest.mark.parametrize(
    ("mapping", "named"),
    [
        ({"tables": {"users": {"partition": "email"}}}, "tables.users.partition: unknown field"),
        ({"tables": {"users": {"collection": "Bad Name"}}}, "tables.users.collection"),
        ({"tables": {"users": {"id_field": "pk"}}}, "tables.users.id_field"),
        ({"tables": {"users": {"pk": ""}}}, "tables.users.pk"),
        ({"version": 2}, "version"),
        ({"tables": ["users"]}, "tables"),
    ],
)
def test_mapping_file_errors_name_the_field(
    tmp_path: Path, mapping: Any, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "mapping.json"
    file.write_text(json.dumps(mapping))
    with pytest.raises(InvalidRequest, match=f"mapping {file}: .*{named}"):
        load_mapping(file)
    db = tmp_path / "db.json"
    TinyDB(db).close()
    where = ["--config-dir", str(tmp_path)]
    status = main(
        ["migrate", "tinydb", str(db), "--tenant", TENANT, "--mapping", str(file), *where]
    )
    assert status == 1
    assert named in capsys.readouterr().err


def test_a_table_without_a_collection_name_needs_the_mapping(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    db = TinyDB(path)
    db.table("Bad-Name").insert({"a": 1})
    db.close()
    file = tmp_path / "mapping.json"
    file.write_text("{not json")
    with pytest.raises(InvalidRequest, match="not JSON"):
        load_mapping(file)
    directory = _config_dir(tmp_path, {"provider": "sqlite", "path": str(tmp_path / "a.sqlite3")})
    with pytest.raises(InvalidRequest, match=r"set tables\.Bad-Name\.collection"):
        _import(open_tenant(directory), path, tmp_path, mapping={})
    fixed = {"tables": {"Bad-Name": {"collection": "bad_name"}}}
    assert _import(open_tenant(directory), path, tmp_path, mapping=fixed).written.count == 1
    with pytest.raises(InvalidRequest, match="belongs to another input"):
        _import(open_tenant(directory), path, tmp_path, mapping={}, resume=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"t": {"1": {"a": tru}}}', "invalid JSON as document '1' in table 't'"),
        ('{"t": {"1": {"a": 1}}', "expected ',' or '}' between tables"),
        ('{"t": [1, 2]}', "expected '{' as table 't'"),
        ('{"t": {"1": {}}} x', "text after its end"),
        ('[{"a": 1}]', "expected '{' at the start"),
    ],
)
def test_a_file_that_is_not_tinydb_is_refused_where_it_stops_being_one(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "db.json"
    path.write_text(text)
    with pytest.raises(InvalidRequest, match=message):
        list(read_tinydb(path))


def test_the_reader_takes_what_json_takes_one_document_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    path.write_bytes(
        b'{ "t" : { "1" : {"s": "\\u00e9\\ud83d\\ude00", "n": NaN},\n "2": [1, 2], "3": "x"'
        b'} ,\n"u": {} , "v": {"\xc3\xa9": {"big": "' + b"q" * 200_000 + b'"}}}\n'
    )
    read = [event for event in read_tinydb(path) if isinstance(event, Read)]
    assert [(e.table, e.doc_id) for e in read] == [("t", "1"), ("t", "2"), ("t", "3"), ("v", "é")]
    assert read[0].value["s"] == "é😀"
    assert read[1].value == [1, 2]
    assert len(read[3].value["big"]) == 200_000
    assert read[3].end == path.stat().st_size - 3  # "}}\n" after it
    (tmp_path / "empty.json").write_bytes(b"")
    assert list(read_tinydb(tmp_path / "empty.json")) == []
    (tmp_path / "latin1.json").write_bytes(b'{"t": {"1": {"a": "\xe9"}}}')
    with pytest.raises(InvalidRequest, match="not UTF-8"):
        list(read_tinydb(tmp_path / "latin1.json"))


def test_migrate_output_never_shows_credentials(
    postgres_server: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    planted = f"planted-{secrets.token_hex(8)}"
    dsn = postgres_server.dsn_for("postgres", password=planted).replace("127.0.0.1", "127.0.0.2")
    directory = _config_dir(tmp_path, {"provider": "postgres", "dsn": dsn})
    path = tmp_path / "db.json"
    db = TinyDB(path)
    db.insert({"a": 1})
    db.close()
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "f.txt").write_text("x")
    where = ["--tenant", TENANT, "--config-dir", str(directory)]
    for command in (["tinydb", str(path)], ["uploads", str(uploads)]):
        for mode in ([], ["--json"]):
            status = main(["migrate", *command, *where, *mode])
            out, err = capsys.readouterr()
            assert planted not in out + err
            if command[0] == "tinydb":  # the database is unreachable
                assert status == 1
                assert "ConnectionFailed" in err or "ProviderUnavailable" in err, err
            else:  # local storage: the database is not needed
                assert status == 0, err
