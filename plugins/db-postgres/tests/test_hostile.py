"""Hostile names, keys and values: stored and read back verbatim, or refused with a
clear error; never executed.

Two layers: the tenant-scoped wrapper refuses what tenantkit never accepts (NUL, bad
collection and field names) before the provider sees it; the provider itself binds
every value and composes every identifier, so whatever reaches it, including names
the wrapper would refuse, is data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg import sql

from tenantkit import IfAbsent, IndexSpec, Key, Schema, SortKey, TenantDatabase, TxPut, errors
from tenantkit_db_postgres import PostgresDatabase

if TYPE_CHECKING:
    from .conftest import MakeDatabase

INJECTIONS = [
    "'; DROP TABLE tenantkit_items; --",
    "x' OR '1'='1",
    '" OR ""="',
    "a;b;c",
    "-- comment",
    "/* block */",
    "$1",
    "%s",
    "%(ns)s",
    "{items}",
    "\\",
    "\\x00",
    "'",
    '"',
    "`",
    "\u2028\u2029",
    "مرحبا",
    "ノート",
    "e\u0301",
    "😀🏳️‍🌈",
    "\U0010ffff",
    "\t\n\r",
    "\x7f\x01",
]


def _table_is_intact(admin: psycopg.Connection[Any], schema_name: str) -> int:
    row = admin.execute(
        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema_name, "tenantkit_items"))
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize(
    "collection",
    ["notes'; DROP TABLE tenantkit_items; --", 'no"tes', "no tes", "no\x00tes", "ノート", "", "A"],
)
def test_the_wrapper_refuses_hostile_collection_names(
    tenant: TenantDatabase, collection: str
) -> None:
    with pytest.raises(errors.InvalidRequest, match="collection name"):
        tenant.put(collection, {"pk": "p"})
    with pytest.raises(errors.InvalidRequest, match="collection name"):
        tenant.get(collection, "p")
    with pytest.raises(errors.InvalidRequest, match="collection name"):
        tenant.query(collection, "p")


def test_the_wrapper_refuses_nul_and_bad_field_names(tenant: TenantDatabase) -> None:
    with pytest.raises(errors.InvalidKey, match="pk must not contain NUL"):
        tenant.put("notes", {"pk": "a\x00b"})
    with pytest.raises(errors.InvalidKey, match="sk must not contain NUL"):
        tenant.get("notes", "a", "b\x00")
    with pytest.raises(errors.InvalidRequest, match=r"text\.inner"):
        tenant.put("notes", {"pk": "a", "text": {"inner": "x\x00y"}})
    with pytest.raises(errors.InvalidRequest, match="field name"):
        tenant.put("notes", {"pk": "a", "x'); DROP TABLE t; --": 1})
    with pytest.raises(errors.InvalidRequest, match="field name"):
        tenant.update("notes", "a", increment={"n; --": 1})
    with pytest.raises(errors.InvalidKey, match=r"sort\.value"):
        tenant.query("notes", "a", sort=SortKey.prefix("\x00"))


def test_the_provider_stores_hostile_keys_and_values_verbatim(
    database: PostgresDatabase,
    tenant: TenantDatabase,
    admin: psycopg.Connection[Any],
    schema_name: str,
) -> None:
    huge = "'; --" * 200_000  # a megabyte of quotes and comment markers
    nested: dict[str, Any] = {"'": {'"': [";", "--", {"$1": "%s"}]}, "ключ": "значение"}
    for i, text in enumerate(INJECTIONS):
        item = {"pk": text, "sk": text, "text": text, "owner": text, "created": f"{i:03}"}
        tenant.put("notes", item)
        tenant.put("notes", {**item, "pk": "all", "sk": text})
    long_key = "'; --" * 200  # 1,000 bytes: near the key limit
    tenant.put("notes", {"pk": "big", "sk": long_key, "text": huge, "nested": nested})

    for text in INJECTIONS:
        got = tenant.get("notes", text, text)
        assert got is not None
        assert got.to_dict() == {
            "pk": text,
            "sk": text,
            "text": text,
            "owner": text,
            "created": got["created"],
        }
        assert [i.sk for i in tenant.query("notes", text).items] == [text]
        by_owner = tenant.query_index("notes", "by_owner", text).items
        assert [i.pk for i in by_owner] == sorted(["all", text])
        assert [i.sk for i in tenant.query("notes", "all", sort=SortKey.prefix(text)).items] == [
            k for k in sorted(INJECTIONS) if k.startswith(text)
        ]
    assert [i.sk for i in tenant.query("notes", "all", limit=1000).items] == sorted(INJECTIONS)
    big = tenant.get("notes", "big", long_key)
    assert big is not None
    assert big.data == {"text": huge, "nested": nested}
    found = tenant.batch_get("notes", [(t, t) for t in reversed(INJECTIONS)])
    assert [i.pk for i in found] == list(reversed(INJECTIONS))

    updated = tenant.update("notes", INJECTIONS[0], INJECTIONS[0], set={"text": INJECTIONS[1]})
    assert updated.data["text"] == INJECTIONS[1]
    assert tenant.delete("notes", INJECTIONS[2], INJECTIONS[2]) is True
    assert _table_is_intact(admin, schema_name) == 2 * len(INJECTIONS)  # one deleted, big added


def test_names_the_wrapper_refuses_are_still_only_data_to_the_provider(
    make_db: MakeDatabase, admin: psycopg.Connection[Any], schema_name: str
) -> None:
    hostile = "notes'); DROP TABLE tenantkit_items; --"
    field = "f'; DELETE FROM tenantkit_items; --"
    spec = IndexSpec(name='ix"; DROP SCHEMA public; --', collection=hostile, partition_field=field)
    db = make_db(schema=Schema(indexes=(spec,)))
    db.ensure_schema(Schema(indexes=(spec,)))

    db.put("acme", hostile, {"pk": "p", "sk": "s", field: "v", "n": 1})
    db.update("acme", hostile, Key(pk="p", sk="s"), set={"x'y": "z"}, increment={"n --": 2})
    item = db.get("acme", hostile, Key(pk="p", sk="s"))
    assert item is not None
    assert item.data == {field: "v", "n": 1, "x'y": "z", "n --": 2}
    updated = db.update("acme", hostile, Key(pk="p", sk="s"), remove=["x'y"])
    assert "x'y" not in updated.data
    assert [i.pk for i in db.query_index("acme", spec, "v").items] == ["p"]
    db.transact_write("acme", [TxPut(collection=hostile, item={"pk": "q", field: "v"})])
    assert [i.pk for i in db.query("acme", hostile, "q").items] == ["q"]
    rows = admin.execute(
        sql.SQL("SELECT DISTINCT collection FROM {}").format(
            sql.Identifier(schema_name, "tenantkit_items")
        )
    ).fetchall()
    assert rows == [(hostile,)]
    indexes = admin.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND indexname LIKE %s",
        (schema_name, "tenantkit_ix_%"),
    ).fetchall()
    assert len(indexes) == 1
    assert "DROP" in indexes[0][0]  # inside quoted literals of the index definition
    assert admin.execute(
        "SELECT count(*) FROM pg_namespace WHERE nspname = 'public'"
    ).fetchone() == (1,)


def test_nul_reaching_the_provider_is_refused_clearly(database: PostgresDatabase) -> None:
    with pytest.raises(errors.InvalidRequest, match="NUL"):
        database.put("acme", "notes", {"pk": "a\x00b", "sk": ""})
    with pytest.raises(errors.InvalidRequest, match="NUL"):
        database.put("acme", "notes", {"pk": "a", "sk": "", "text": "x\x00y"})
    with pytest.raises(errors.InvalidRequest, match="NUL"):
        database.get("acme", "notes", Key(pk="\x00"))
    assert database.put("acme", "notes", {"pk": "a", "sk": ""}, condition=IfAbsent()).pk == "a"
