"""The provider's behaviour on a real server, through the tenant-scoped wrapper.

The conformance kit checks the shared semantics; these tests check what is particular
to PostgreSQL: the storage layout, code-point ordering, the expression indexes, the
single-statement conditional writes and the transaction details.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg import sql

from tenantkit import (
    IfAbsent,
    IfExists,
    IfVersion,
    Key,
    SortKey,
    TenantDatabase,
    TxCheck,
    TxDelete,
    TxPut,
    TxUpdate,
    errors,
)
from tenantkit_db_postgres import PostgresDatabase
from tenantkit_db_postgres.database import _prefix_successor

if TYPE_CHECKING:
    from .conftest import MakeDatabase, Scope


def _rows(admin: psycopg.Connection[Any], schema_name: str) -> list[tuple[Any, ...]]:
    return admin.execute(
        sql.SQL(
            "SELECT ns, collection, pk, sk, data, version FROM {} ORDER BY ns, collection, pk, sk"
        ).format(sql.Identifier(schema_name, "tenantkit_items"))
    ).fetchall()


def test_items_are_rows_keyed_by_tenant_collection_and_key(
    tenant: TenantDatabase, admin: psycopg.Connection[Any], schema_name: str
) -> None:
    item = tenant.put("notes", {"pk": "u1", "sk": "n1", "text": "hi", "tags": ["a", {"b": None}]})
    assert item.data == {"text": "hi", "tags": ["a", {"b": None}]}
    assert len(item.version) == 16
    assert _rows(admin, schema_name) == [
        ("acme", "notes", "u1", "n1", {"text": "hi", "tags": ["a", {"b": None}]}, item.version)
    ]
    assert tenant.get("notes", "u1", "n1") == item


def test_tenants_sharing_a_database_never_see_each_other(
    database: PostgresDatabase, scope: Scope
) -> None:
    acme, acme1 = scope(database, "acme"), scope(database, "acme-1")
    acme.put("notes", {"pk": "p", "sk": "1", "who": "acme"})
    acme1.put("notes", {"pk": "p", "sk": "1", "who": "acme-1"})
    acme1.put("notes", {"pk": "p", "sk": "2", "who": "acme-1"})
    assert acme.get("notes", "p", "1").data == {"who": "acme"}  # type: ignore[union-attr]
    assert [i.sk for i in acme.query("notes", "p").items] == ["1"]
    assert acme.delete("notes", "p", "2") is False
    assert acme1.get("notes", "p", "2") is not None


def test_sort_keys_order_by_code_point(tenant: TenantDatabase) -> None:
    keys = ["B", "a", "Z", "é", "e", "😀", "\uffff", "ab", "a b", "", "~"]
    for sk in keys:
        tenant.put("notes", {"pk": "p", "sk": sk})
    assert [i.sk for i in tenant.query("notes", "p").items] == sorted(keys)
    desc = tenant.query("notes", "p", descending=True)
    assert [i.sk for i in desc.items] == sorted(keys, reverse=True)
    gt = tenant.query("notes", "p", sort=SortKey(op="gt", value="a"))
    assert [i.sk for i in gt.items] == sorted(k for k in keys if k > "a")


def test_prefix_queries_bound_by_the_next_code_point(tenant: TenantDatabase) -> None:
    keys = ["a", "a\U0010ffff", "a\U0010ffffz", "ab", "b", "\U0010ffff", "\U0010ffffx", "\ud7ff1"]
    keys = [k for k in keys if "\ud7ff" not in k] + ["\ud7ff", "\ud7ffx", "\ue000"]
    for sk in keys:
        tenant.put("notes", {"pk": "p", "sk": sk})
    for prefix in ["a", "a\U0010ffff", "\U0010ffff", "\ud7ff", ""]:
        page = tenant.query("notes", "p", sort=SortKey.prefix(prefix))
        assert [i.sk for i in page.items] == sorted(k for k in keys if k.startswith(prefix))
        page = tenant.query("notes", "p", sort=SortKey.prefix(prefix), descending=True)
        assert [i.sk for i in page.items] == sorted(
            (k for k in keys if k.startswith(prefix)), reverse=True
        )


def test_prefix_successor() -> None:
    assert _prefix_successor("ab") == "ac"
    assert _prefix_successor("a\U0010ffff") == "b"
    assert _prefix_successor("\U0010ffff\U0010ffff") is None
    assert _prefix_successor("\ud7ff") == "\ue000"
    assert _prefix_successor("") is None


def test_pages_follow_each_other_without_gaps(tenant: TenantDatabase) -> None:
    for i in range(25):
        tenant.put("notes", {"pk": "p", "sk": f"{i:03}"})
    for descending in (False, True):
        seen: list[str] = []
        cursor = None
        while True:
            page = tenant.query("notes", "p", limit=7, cursor=cursor, descending=descending)
            seen += [i.sk for i in page.items]
            cursor = page.cursor
            if cursor is None:
                break
        assert seen == sorted((f"{i:03}" for i in range(25)), reverse=descending)
    exact = tenant.query("notes", "p", sort=SortKey.prefix("00"), limit=10)
    assert len(exact.items) == 10
    assert exact.cursor is None  # exactly ``limit`` left: no empty trailing page


def test_index_queries_use_the_expression_index(
    database: PostgresDatabase,
    tenant: TenantDatabase,
    admin: psycopg.Connection[Any],
    schema_name: str,
) -> None:
    for i in range(6):
        tenant.put(
            "notes", {"pk": f"u{i % 2}", "sk": f"n{i}", "owner": "bob", "created": f"2024-0{i}"}
        )
    tenant.put("notes", {"pk": "x", "sk": "1", "owner": "bob"})  # no sort field: not indexed
    tenant.put("notes", {"pk": "x", "sk": "2", "owner": 7, "created": "2024"})  # not a string
    tenant.put("users", {"pk": "x", "sk": "3", "owner": "bob", "created": "2024"})  # other coll.
    page = tenant.query_index("notes", "by_owner", "bob", limit=4)
    assert [i.data["created"] for i in page.items] == [f"2024-0{i}" for i in range(4)]
    rest = tenant.query_index("notes", "by_owner", "bob", cursor=page.cursor)
    assert [i.data["created"] for i in rest.items] == ["2024-04", "2024-05"]
    between = tenant.query_index(
        "notes", "by_owner", "bob", sort=SortKey.between("2024-01", "2024-03"), descending=True
    )
    assert [i.data["created"] for i in between.items] == ["2024-03", "2024-02", "2024-01"]

    spec = database._context.schema.index("notes", "by_owner")
    assert spec is not None
    statement = database._sql.query_index(spec, None, descending=False, after=True, upper=False)
    params = {"ns": "acme", "value": "bob", "limit": 5, "after_sort": "", "after_pk": ""}
    with admin.transaction():
        admin.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            r[0] for r in admin.execute(b"EXPLAIN " + statement, {**params, "after_sk": ""})
        )
    assert "tenantkit_ix_" in plan, plan
    names = admin.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = %s ORDER BY indexname",
        (schema_name,),
    ).fetchall()
    assert len([n for (n,) in names if n.startswith("tenantkit_ix_")]) == 2


def test_conditional_puts(tenant: TenantDatabase) -> None:
    first = tenant.put("notes", {"pk": "p", "a": 1}, condition=IfAbsent())
    with pytest.raises(errors.ConditionFailed):
        tenant.put("notes", {"pk": "p", "a": 2}, condition=IfAbsent())
    with pytest.raises(errors.ConditionFailed):
        tenant.put("notes", {"pk": "q", "a": 2}, condition=IfExists())
    with pytest.raises(errors.ConditionFailed):
        tenant.put("notes", {"pk": "p", "a": 2}, condition=IfVersion(version="0" * 16))
    second = tenant.put("notes", {"pk": "p", "a": 3}, condition=IfVersion(version=first.version))
    third = tenant.put("notes", {"pk": "p", "a": 4}, condition=IfExists())
    assert len({first.version, second.version, third.version}) == 3
    assert tenant.get("notes", "p").data == {"a": 4}  # type: ignore[union-attr]


def test_updates_set_increment_and_remove_in_one_statement(tenant: TenantDatabase) -> None:
    tenant.put("notes", {"pk": "p", "n": 1, "f": 0.5, "keep": "k", "drop": True}, ttl=3600)
    before = tenant.get("notes", "p")
    assert before is not None
    assert before.expires_at is not None
    after = tenant.update(
        "notes",
        "p",
        set={"s": {"x": [1]}},
        increment={"n": 2, "f": 0.25, "new": -3},
        remove=["drop", "never_there"],
    )
    assert after.data == {"n": 3, "f": 0.75, "new": -3, "keep": "k", "s": {"x": [1]}}
    assert after.version != before.version
    assert after.expires_at == before.expires_at  # no ttl given: the expiry stays
    assert tenant.get("notes", "p") == after
    with pytest.raises(errors.NotFound):
        tenant.update("notes", "missing", set={"a": 1})
    created = tenant.update("notes", "new", increment={"count": 1}, set={"a": "b"}, upsert=True)
    assert created.data == {"count": 1, "a": "b"}
    assert created.expires_at is None
    with pytest.raises(errors.ConditionFailed):
        tenant.update("notes", "new", set={"a": "c"}, condition=IfVersion(version="x" * 16))
    with pytest.raises(errors.ConditionFailed):
        tenant.update("notes", "new", set={"a": "c"}, condition=IfAbsent(), upsert=True)
    with pytest.raises(errors.InvalidRequest, match="keep"):
        tenant.update("notes", "p", increment={"keep": 1})


def test_deletes_report_whether_an_item_existed(tenant: TenantDatabase) -> None:
    item = tenant.put("notes", {"pk": "p"})
    with pytest.raises(errors.ConditionFailed):
        tenant.delete("notes", "p", condition=IfVersion(version="0" * 16))
    with pytest.raises(errors.ConditionFailed):
        tenant.delete("notes", "p", condition=IfAbsent())
    assert tenant.delete("notes", "p", condition=IfVersion(version=item.version)) is True
    assert tenant.delete("notes", "p") is False
    assert tenant.delete("notes", "p", condition=IfAbsent()) is False
    with pytest.raises(errors.ConditionFailed):
        tenant.delete("notes", "p", condition=IfExists())


def test_batches(tenant: TenantDatabase) -> None:
    tenant.batch_put(
        "notes",
        [{"pk": "b", "sk": str(i), "i": i} for i in range(50)] + [{"pk": "b", "sk": "3", "i": 99}],
    )
    found = tenant.batch_get("notes", [("b", "3"), ("b", "missing"), ("b", "0"), ("b", "49")])
    assert [(i.sk, i.data["i"]) for i in found] == [("3", 99), ("0", 0), ("49", 49)]
    assert len({i.version for i in found}) == 3


def test_transactions_apply_all_or_nothing(
    tenant: TenantDatabase, admin: psycopg.Connection[Any], schema_name: str
) -> None:
    kept = tenant.put("notes", {"pk": "k", "n": 1})
    tenant.put("notes", {"pk": "j", "label": "text"})
    tenant.transact_write(
        [
            TxPut(collection="notes", item={"pk": "a", "v": 1}, condition=IfAbsent()),
            TxUpdate(collection="notes", key=Key(pk="k"), increment={"n": 1}),
            TxCheck(collection="notes", key=Key(pk="nobody"), condition=IfAbsent()),
            TxDelete(collection="notes", key=Key(pk="gone")),
        ]
    )
    after = tenant.get("notes", "k")
    assert after is not None
    assert after.data == {"n": 2}
    assert after.version != kept.version
    # The absent-check's placeholder row is gone after the commit.
    assert [r[2] for r in _rows(admin, schema_name)] == ["a", "j", "k"]

    with pytest.raises(errors.TransactionCanceled) as caught:
        tenant.transact_write(
            [
                TxPut(collection="notes", item={"pk": "b"}),
                TxCheck(collection="notes", key=Key(pk="j"), condition=IfVersion(version="old")),
                TxUpdate(collection="notes", key=Key(pk="k"), set={"x": 1}),
                TxPut(collection="notes", item={"pk": "a"}, condition=IfAbsent()),
            ]
        )
    assert caught.value.reasons == [None, "ConditionalCheckFailed", None, "ConditionalCheckFailed"]
    assert caught.value.failed_indexes == [1, 3]
    assert tenant.get("notes", "b") is None
    assert "x" not in tenant.get("notes", "k").data  # type: ignore[union-attr]

    with pytest.raises(errors.TransactionCanceled) as caught:
        tenant.transact_write(
            [
                TxPut(collection="notes", item={"pk": "c"}),
                TxUpdate(collection="notes", key=Key(pk="a"), increment={"v": 1}),
                TxUpdate(collection="notes", key=Key(pk="j"), increment={"label": 1}),
            ]
        )
    assert caught.value.reasons == [None, None, "ValidationError"]
    assert tenant.get("notes", "c") is None


def test_a_transaction_may_touch_each_item_once(tenant: TenantDatabase) -> None:
    with pytest.raises(errors.InvalidRequest, match="same item"):
        tenant.transact_write(
            [
                TxPut(collection="notes", item={"pk": "a"}),
                TxDelete(collection="notes", key=Key(pk="a")),
            ]
        )


def test_schema_is_created_on_first_use(make_db: MakeDatabase, scope: Scope) -> None:
    db = make_db()
    tenant = scope(db)
    assert tenant.get("notes", "p") is None
    tenant.put("users", {"pk": "u", "email": "a@example.com"})
    assert [i.pk for i in tenant.query_index("users", "by_email", "a@example.com").items] == ["u"]
