"""The provider's own behaviour on the stand-in: the document layout the README shows,
numbers Cosmos cannot hold, expiry fields, and a container made for something else."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tenantkit.db import Key
from tenantkit.errors import ConfigurationError, InvalidRequest
from tenantkit_db_cosmos import CosmosSettings
from tenantkit_db_cosmos._layout import item_id
from tenantkit_db_cosmos._wire import MasterKeyAuth
from tenantkit_db_cosmos.database import CosmosDatabase
from testharness.cosmos import CosmosServer


def test_documents_are_laid_out_as_documented(
    make_database: Callable[..., CosmosDatabase],
) -> None:
    db = make_database()
    item = db.put("acme", "notes", {"pk": "u1", "sk": "n1", "owner": "bob", "title": "Plans"})
    doc = db._read("acme", item_id("notes", "u1", "n1"))
    assert doc is not None
    assert {k: doc[k] for k in ("t", "c", "p", "k", "s", "d")} == {
        "t": "acme",
        "c": "notes",
        "p": "u1",
        "k": "n1",
        "s": "6e31",
        "d": {"owner": "bob", "title": "Plans"},
    }
    assert doc["ix"] == {
        "by_owner": {"p": "bob", "s": "506c616e73" + "00" + "7531" + "00" + "6e31"}
    }
    assert doc["_etag"] == item.version
    assert "x" not in doc
    assert "ttl" not in doc


def test_expiry_sets_cosmos_ttl_too(make_database: Callable[..., CosmosDatabase]) -> None:
    db = make_database()
    before = time.time()
    item = db.put("acme", "notes", {"pk": "t"}, ttl=120)
    doc = db._read("acme", item_id("notes", "t", ""))
    assert doc is not None
    assert doc["x"] == item.expires_at
    assert 119 <= doc["ttl"] <= 121
    later = db.update("acme", "notes", Key(pk="t"), set={"v": 1})
    assert later.expires_at == item.expires_at
    redone = db._read("acme", item_id("notes", "t", ""))
    assert redone is not None
    assert redone["ttl"] <= int(item.expires_at - before) + 1  # counted from the new write


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"n": 2**53}, "n"),
        ({"deep": {"list": [1, -(2**60)]}}, r"deep\.list\[1\]"),
    ],
)
def test_integers_cosmos_cannot_hold_are_refused_by_name(
    make_database: Callable[..., CosmosDatabase], fields: dict[str, object], path: str
) -> None:
    db = make_database()
    with pytest.raises(InvalidRequest, match=path):
        db.put("acme", "notes", {"pk": "big", **fields})
    with pytest.raises(InvalidRequest, match=path):
        db.update("acme", "notes", Key(pk="big"), set=fields, upsert=True)
    assert db.get("acme", "notes", Key(pk="big")) is None


def test_a_container_partitioned_otherwise_is_refused(
    cosmos_server: CosmosServer,
    make_settings: Callable[..., CosmosSettings],
    make_database: Callable[..., CosmosDatabase],
) -> None:
    settings = make_settings()
    with httpx.Client(
        base_url=cosmos_server.endpoint,
        verify=cosmos_server.ssl_context,
        auth=MasterKeyAuth(cosmos_server.key),
    ) as client:
        client.post("/dbs", json={"id": settings.database})
        client.post(
            f"/dbs/{settings.database}/colls",
            json={"id": settings.container, "partitionKey": {"paths": ["/id"], "kind": "Hash"}},
        ).raise_for_status()
    with pytest.raises(ConfigurationError, match=settings.container):
        make_database(settings)
