"""Single-item operations: the table layout, JSON round trips, versions, TTL, counters."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tenantkit import IfAbsent, IfExists, IfVersion, TenantDatabase
from tenantkit.errors import ConditionFailed, InvalidRequest, NotFound
from tenantkit_db_dynamodb.database import DynamoDBDatabase

VALUES: dict[str, Any] = {
    "text": "héllo \u2603 \U0001f600",
    "empty": "",
    "zero": 0,
    "negative": -17,
    "big": 2**62 + 1,
    "huge": 10**37,
    "pi": 3.141592653589793,
    "tiny": 1e-120,
    "large": 1.5e120,
    "third": 1 / 3,
    "neg_float": -0.1,
    "true": True,
    "false": False,
    "null": None,
    "list": [1, "two", 3.5, None, [False], {"k": "v"}],
    "nested": {"a": {"b": {"c": [1.25, {"d": ""}]}}, " ": "blank key"},
    "empty_list": [],
    "empty_map": {},
}


def test_json_values_round_trip(tenant_db: TenantDatabase) -> None:
    tenant_db.put("notes", {"pk": "u1", "sk": "n1", **VALUES})
    item = tenant_db.get("notes", "u1", "n1")
    assert item is not None
    assert item.data == VALUES
    for name, value in VALUES.items():
        assert type(item[name]) is type(value), name


def test_numbers_outside_dynamodb_range_name_the_field(tenant_db: TenantDatabase) -> None:
    with pytest.raises(InvalidRequest, match=r"deep\.x"):
        tenant_db.put("notes", {"pk": "u1", "deep": {"x": 1e-300}})
    with pytest.raises(InvalidRequest, match=r"meta: .*empty"):
        tenant_db.put("notes", {"pk": "u1", "meta": {"": 1}})
    with pytest.raises(InvalidRequest, match="count"):
        tenant_db.update("notes", "u1", set={"count": 10**40 + 1}, upsert=True)


def test_layout_keeps_tenants_collections_and_keys_apart(
    database: DynamoDBDatabase,
    scoped: Callable[..., TenantDatabase],
    raw_table: tuple[Any, str],
) -> None:
    abc, abc1 = scoped(database, "abc"), scoped(database, "abc-1")
    abc.put("notes", {"pk": "x#y", "sk": "", "who": "abc"})
    abc1.put("notes", {"pk": "y", "sk": "", "who": "abc-1"})
    abc.put("notes_archive", {"pk": "x#y", "sk": "", "who": "archive"})

    client, table = raw_table
    keys = sorted((i["_pk"]["S"], i["_sk"]["S"]) for i in client.scan(TableName=table)["Items"])
    assert keys == [
        ("abc#notes#x#y", "\x00"),
        ("abc#notes_archive#x#y", "\x00"),
        ("abc-1#notes#y", "\x00"),
    ]
    # "abc"'s partition "x#y" never reaches "abc-1"'s items, nor another collection's.
    assert abc.get("notes", "x#y")["who"] == "abc"  # type: ignore[index]
    assert abc1.get("notes", "x#y") is None
    assert [i["who"] for i in abc.query("notes", "x#y").items] == ["abc"]
    assert abc1.query("notes", "x#y").items == []


def test_every_write_gives_a_new_version(tenant_db: TenantDatabase) -> None:
    first = tenant_db.put("notes", {"pk": "u1", "sk": "n1", "v": 1})
    second = tenant_db.put("notes", {"pk": "u1", "sk": "n1", "v": 2})
    third = tenant_db.update("notes", "u1", "n1", set={"v": 3})
    assert len({first.version, second.version, third.version}) == 3
    assert tenant_db.get("notes", "u1", "n1").version == third.version  # type: ignore[union-attr]


def test_conditions_if_absent_exists_and_version(tenant_db: TenantDatabase) -> None:
    created = tenant_db.put("notes", {"pk": "u1", "v": 1}, condition=IfAbsent())
    with pytest.raises(ConditionFailed):
        tenant_db.put("notes", {"pk": "u1", "v": 2}, condition=IfAbsent())
    with pytest.raises(ConditionFailed):
        tenant_db.put("notes", {"pk": "u2", "v": 1}, condition=IfExists())
    updated = tenant_db.put(
        "notes", {"pk": "u1", "v": 2}, condition=IfVersion(version=created.version)
    )
    with pytest.raises(ConditionFailed):  # the version moved on
        tenant_db.update("notes", "u1", set={"v": 3}, condition=IfVersion(version=created.version))
    tenant_db.update("notes", "u1", set={"v": 3}, condition=IfVersion(version=updated.version))
    with pytest.raises(ConditionFailed):
        tenant_db.delete("notes", "u1", condition=IfVersion(version=updated.version))
    assert tenant_db.get("notes", "u1")["v"] == 3  # type: ignore[index]


def test_update_sets_removes_and_requires_the_item_unless_upsert(
    tenant_db: TenantDatabase,
) -> None:
    with pytest.raises(NotFound):
        tenant_db.update("notes", "ghost", set={"a": 1})
    assert tenant_db.get("notes", "ghost") is None
    created = tenant_db.update("notes", "ghost", set={"a": 1}, increment={"n": 2}, upsert=True)
    assert created.data == {"a": 1, "n": 2}
    changed = tenant_db.update("notes", "ghost", set={"b": [1]}, remove=["a"])
    assert changed.data == {"n": 2, "b": [1]}
    with pytest.raises(InvalidRequest, match=r"^increment b: .*not a number|something else"):
        tenant_db.update("notes", "ghost", increment={"b": 1, "n": 1})


def test_counters_are_atomic_under_concurrency(tenant_db: TenantDatabase) -> None:
    tenant_db.put("notes", {"pk": "counter", "hits": 0})

    def bump() -> None:
        for _ in range(5):
            tenant_db.update("notes", "counter", increment={"hits": 1, "bytes": 0.5})

    threads = [threading.Thread(target=bump) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    item = tenant_db.get("notes", "counter", consistent=True)
    assert item is not None
    assert item["hits"] == 30
    assert item["bytes"] == 15


def test_delete_reports_whether_the_item_existed(tenant_db: TenantDatabase) -> None:
    tenant_db.put("notes", {"pk": "u1"})
    assert tenant_db.delete("notes", "u1") is True
    assert tenant_db.delete("notes", "u1") is False
    assert tenant_db.get("notes", "u1") is None


def test_ttl_is_stored_in_the_ttl_attribute(
    tenant_db: TenantDatabase, raw_table: tuple[Any, str]
) -> None:
    before = time.time()
    item = tenant_db.put("notes", {"pk": "u1"}, ttl=60)
    assert item.expires_at is not None
    assert before + 60 <= item.expires_at <= before + 62
    client, table = raw_table
    stored = client.get_item(
        TableName=table, Key={"_pk": {"S": "acme#notes#u1"}, "_sk": {"S": "\x00"}}
    )
    assert int(stored["Item"]["_exp"]["N"]) == item.expires_at
    ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "_exp"}
    assert tenant_db.get("notes", "u1").expires_at == item.expires_at  # type: ignore[union-attr]


def _plant_expired(raw_table: tuple[Any, str], pk: str, sk: str = "", **fields: Any) -> None:
    """An item whose expiry has passed but which DynamoDB has not removed yet."""
    client, table = raw_table
    item = {
        "_pk": {"S": f"acme#notes#{pk}"},
        "_sk": {"S": sk or "\x00"},
        "_v": {"S": "0000000000000000"},
        "_exp": {"N": str(int(time.time()) - 5)},
        "owner": {"S": "bob"},
        "title": {"S": ""},
        "_ipk:notes.by_owner": {"S": "acme#bob"},
        "_isk:notes.by_owner": {"S": f"\x00{pk}\x00{sk}"},
    }
    item.update({name: {"N": str(value)} for name, value in fields.items()})
    client.put_item(TableName=table, Item=item)


def test_expired_items_are_invisible_before_dynamodb_removes_them(
    tenant_db: TenantDatabase, raw_table: tuple[Any, str]
) -> None:
    _plant_expired(raw_table, "u1", "a", stale=1)
    _plant_expired(raw_table, "u1", "b", stale=1)
    tenant_db.put("notes", {"pk": "u1", "sk": "c", "owner": "bob", "title": ""})

    assert tenant_db.get("notes", "u1", "a") is None
    assert [i.sk for i in tenant_db.query("notes", "u1", limit=1).items] == ["c"]
    assert tenant_db.query("notes", "u1", limit=1).cursor is None
    assert [i.sk for i in tenant_db.query_index("notes", "by_owner", "bob").items] == ["c"]
    assert tenant_db.batch_get("notes", [("u1", "a"), ("u1", "c")])[0].sk == "c"
    assert tenant_db.delete("notes", "u1", "a") is False
    # An expired item counts as absent: it neither blocks IfAbsent nor lends its fields.
    tenant_db.put("notes", {"pk": "u1", "sk": "b", "fresh": True}, condition=IfAbsent())
    assert tenant_db.get("notes", "u1", "b").data == {"fresh": True}  # type: ignore[union-attr]
    _plant_expired(raw_table, "u2", stale=1)
    with pytest.raises(NotFound):
        tenant_db.update("notes", "u2", set={"x": 1})
    with pytest.raises(ConditionFailed):
        tenant_db.put("notes", {"pk": "u2"}, condition=IfExists())
    upserted = tenant_db.update("notes", "u2", increment={"stale": 1}, upsert=True)
    assert upserted.data == {"stale": 1}
