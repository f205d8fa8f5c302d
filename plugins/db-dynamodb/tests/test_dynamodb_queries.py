"""Queries of a partition and of declared secondary indexes: order, conditions, cursors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantkit import IndexSpec, Key, Schema, SortKey, TenantDatabase
from tenantkit.errors import ConfigurationError, InvalidCursor
from tenantkit_db_dynamodb.database import DynamoDBDatabase

SORT_KEYS = ["", "a", "a\x01", "a\x01b", "ab", "b", "b/1", "b/2", "c", "\u00e9", "\U0001f600"]


@pytest.fixture
def filled(tenant_db: TenantDatabase) -> TenantDatabase:
    tenant_db.batch_put("notes", [{"pk": "p", "sk": sk, "n": i} for i, sk in enumerate(SORT_KEYS)])
    tenant_db.put("notes", {"pk": "other", "sk": "a"})
    return tenant_db


def _sks(db: TenantDatabase, **kwargs: Any) -> list[str]:
    return [item.sk for item in db.query("notes", "p", **kwargs).items]


@pytest.mark.parametrize(
    "sort",
    [
        SortKey(op="eq", value="a"),
        SortKey(op="lt", value="a\x01"),
        SortKey(op="lte", value="a\x01"),
        SortKey(op="gt", value="ab"),
        SortKey(op="gte", value="b"),
        SortKey(op="lt", value=""),
        SortKey(op="gte", value=""),
        SortKey.prefix("b/"),
        SortKey.prefix(""),
        SortKey.between("a\x01", "b/1"),
        SortKey.between("c", "a"),
    ],
    ids=lambda s: f"{s.op}:{s.value!r}:{s.upper!r}",
)
def test_sort_conditions_match_code_point_order(filled: TenantDatabase, sort: SortKey) -> None:
    expected = [sk for sk in sorted(SORT_KEYS) if sort.matches(sk)]
    assert _sks(filled, sort=sort) == expected
    assert _sks(filled, sort=sort, descending=True) == expected[::-1]


def test_pages_are_full_and_the_last_has_no_cursor(filled: TenantDatabase) -> None:
    for descending in (False, True):
        seen: list[str] = []
        cursor = None
        sizes = []
        while True:
            page = filled.query("notes", "p", limit=4, cursor=cursor, descending=descending)
            seen += [item.sk for item in page.items]
            sizes.append(len(page.items))
            cursor = page.cursor
            if cursor is None:
                break
        assert seen == sorted(SORT_KEYS, reverse=descending)
        assert sizes == [4, 4, 3]
    exact = filled.query("notes", "p", limit=len(SORT_KEYS))
    assert len(exact.items) == len(SORT_KEYS)
    assert exact.cursor is None


def test_provider_cursors_are_bound_to_their_partition(database: DynamoDBDatabase) -> None:
    for i in range(3):
        database.put("acme", "notes", {"pk": "p", "sk": str(i)})
        database.put("acme", "notes", {"pk": "q", "sk": str(i)})
    page = database.query("acme", "notes", "p", limit=1)
    assert page.cursor is not None
    assert [i.sk for i in database.query("acme", "notes", "p", cursor=page.cursor).items] == [
        "1",
        "2",
    ]
    with pytest.raises(InvalidCursor):
        database.query("acme", "notes", "q", cursor=page.cursor)
    with pytest.raises(InvalidCursor):
        database.query("other", "notes", "p", cursor=page.cursor)
    with pytest.raises(InvalidCursor):
        database.query("acme", "notes", "p", cursor="not base64 json!")


def test_index_query_orders_by_sort_field_then_key(tenant_db: TenantDatabase) -> None:
    rows = [
        {"pk": "u2", "sk": "b", "owner": "bob", "title": "same"},
        {"pk": "u1", "sk": "z", "owner": "bob", "title": "same"},
        {"pk": "u1", "sk": "a", "owner": "bob", "title": "same"},
        {"pk": "u3", "sk": "", "owner": "bob", "title": "earlier"},
        {"pk": "u4", "sk": "", "owner": "bob"},  # no sort field: not indexed
        {"pk": "u5", "sk": "", "owner": "alice", "title": "same"},
        {"pk": "u6", "sk": "", "owner": 7, "title": "same"},  # not a string: not indexed
        {"pk": "u7", "sk": "", "title": "same"},
    ]
    tenant_db.batch_put("notes", rows)
    page = tenant_db.query_index("notes", "by_owner", "bob")
    assert [(i.pk, i.sk) for i in page.items] == [
        ("u3", ""),
        ("u1", "a"),
        ("u1", "z"),
        ("u2", "b"),
    ]
    assert page.items[2].data == {"owner": "bob", "title": "same"}
    by_tag = tenant_db.query_index("notes", "by_tag", "x")
    assert by_tag.items == []


@pytest.mark.parametrize(
    "sort",
    [
        SortKey(op="eq", value="a"),
        SortKey(op="lt", value="ab"),
        SortKey(op="lt", value=""),
        SortKey(op="lte", value="a"),
        SortKey(op="gt", value="a"),
        SortKey(op="gte", value="a\x01"),
        SortKey(op="gte", value=""),
        SortKey.prefix("a"),
        SortKey.prefix(""),
        SortKey.between("a", "ab"),
        SortKey.between("", "a"),
        SortKey.between("b", "a"),
    ],
    ids=lambda s: f"{s.op}:{s.value!r}:{s.upper!r}",
)
def test_index_sort_conditions(tenant_db: TenantDatabase, sort: SortKey) -> None:
    titles = ["", "a", "a\x01", "a\x01x", "aa", "ab", "b"]
    tenant_db.batch_put(
        "notes", [{"pk": f"u{i}", "owner": "bob", "title": t} for i, t in enumerate(titles)]
    )
    found = tenant_db.query_index("notes", "by_owner", "bob", sort=sort)
    assert [i["title"] for i in found.items] == [t for t in sorted(titles) if sort.matches(t)]


def test_index_follows_updates_and_pages(tenant_db: TenantDatabase) -> None:
    for i in range(5):
        tenant_db.put("notes", {"pk": f"u{i}", "owner": "bob", "title": f"t{i}", "tag": "x"})
    tenant_db.update("notes", "u0", set={"owner": "alice"})
    tenant_db.update("notes", "u1", set={"title": "t9"})
    tenant_db.update("notes", "u2", remove=["title"])
    tenant_db.update("notes", "u3", set={"owner": None})
    tenant_db.update("notes", "new", set={"owner": "bob"}, upsert=True)
    tenant_db.update("notes", "u4", set={"tag": 1}, remove=["owner"])

    titles = [
        (i.pk, i.get("title")) for i in tenant_db.query_index("notes", "by_owner", "bob").items
    ]
    assert titles == [("u1", "t9")]  # u2 lost its title, "new" never had one
    assert [i.pk for i in tenant_db.query_index("notes", "by_owner", "alice").items] == ["u0"]
    assert [i.pk for i in tenant_db.query_index("notes", "by_tag", "x").items] == [
        "u0",
        "u1",
        "u2",
        "u3",
    ]
    first = tenant_db.query_index("notes", "by_tag", "x", limit=3, descending=True)
    assert [i.pk for i in first.items] == ["u3", "u2", "u1"]
    rest = tenant_db.query_index(
        "notes", "by_tag", "x", limit=3, descending=True, cursor=first.cursor
    )
    assert [i.pk for i in rest.items] == ["u0"]
    assert rest.cursor is None


def test_index_queries_keep_tenants_apart(
    database: DynamoDBDatabase, scoped: Callable[..., TenantDatabase]
) -> None:
    scoped(database, "abc").put("notes", {"pk": "1", "owner": "bob", "title": "a"})
    scoped(database, "abc-1").put("notes", {"pk": "2", "owner": "bob", "title": "a"})
    assert [
        i.pk for i in scoped(database, "abc").query_index("notes", "by_owner", "bob").items
    ] == ["1"]
    spec = IndexSpec(
        name="by_owner", collection="notes", partition_field="owner", sort_field="title"
    )
    page = database.query_index("abc", spec, "bob", limit=1)
    assert page.cursor is None
    database.put("abc", "notes", {"pk": "3", "owner": "bob", "title": "b"})
    page = database.query_index("abc", spec, "bob", limit=1)
    assert page.cursor is not None
    with pytest.raises(InvalidCursor):
        database.query_index("abc-1", spec, "bob", cursor=page.cursor)


def test_an_undeclared_index_is_a_configuration_error(
    make_database: Callable[..., DynamoDBDatabase],
) -> None:
    db = make_database(schema=Schema())
    spec = IndexSpec(name="by_owner", collection="notes", partition_field="owner")
    with pytest.raises(ConfigurationError, match=r"no index 'notes\.by_owner'.*ensure_schema"):
        db.query_index("acme", spec, "bob")


def test_batch_get_returns_existing_items_in_request_order(tenant_db: TenantDatabase) -> None:
    tenant_db.batch_put("notes", [{"pk": f"k{i}", "i": i} for i in range(150) if i % 3])
    keys = [Key(pk=f"k{i}") for i in reversed(range(100))]
    found = tenant_db.batch_get("notes", keys)
    assert [item["i"] for item in found] == [i for i in reversed(range(100)) if i % 3]
