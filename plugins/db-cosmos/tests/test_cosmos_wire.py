"""What the stand-in cannot show, against Cosmos DB's documented wire format (respx).

Every fixture cites the REST reference page it reproduces. The stand-in checks no
signature, answers no 412/429/449 of its own, sends no session tokens and applies a
transactional batch one operation at a time; these tests cover those paths.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from tenantkit import ProviderContext, RetryPolicy
from tenantkit.db import IfExists, IfVersion, Key, SortKey, TxCheck, TxPut, TxUpdate
from tenantkit.errors import (
    AuthenticationError,
    ConditionFailed,
    ConfigurationError,
    InvalidRequest,
    ProviderUnavailable,
    RateLimited,
    Timeout,
    TransactionCanceled,
)
from tenantkit_db_cosmos import CosmosSettings
from tenantkit_db_cosmos._layout import item_id
from tenantkit_db_cosmos._wire import master_signature, resource_of
from tenantkit_db_cosmos.database import CosmosDatabase

ENDPOINT = "https://acct.documents.azure.com"
DOCS = f"{ENDPOINT}/dbs/app/colls/tenants/docs"
KEY = base64.b64encode(b"k" * 64).decode()
NO_RETRY = RetryPolicy(max_attempts=1)


def make(**fields: Any) -> CosmosDatabase:
    values: dict[str, Any] = {
        "endpoint": ENDPOINT,
        "database": "app",
        "container": "tenants",
        "key": KEY,
    }
    values.update(fields)
    if "resource_token" in fields or "entra" in fields:
        values.pop("key")
    context = ProviderContext(tenant_id="acme", provider="cosmos", retry=NO_RETRY)
    return CosmosDatabase(CosmosSettings.model_validate(values), context)


@pytest.fixture
def db() -> Iterator[CosmosDatabase]:
    database = make()
    yield database
    database.close()


def stored(
    collection: str, pk: str, sk: str = "", *, etag: str = '"e1"', **data: Any
) -> dict[str, Any]:
    """A document as Cosmos answers it ("Get a Document",
    https://learn.microsoft.com/rest/api/cosmos-db/get-a-document): the item's own
    properties plus the system ones (_rid, _self, _etag, _attachments, _ts)."""
    return {
        "id": item_id(collection, pk, sk),
        "t": "acme",
        "c": collection,
        "p": pk,
        "k": sk,
        "s": sk.encode().hex(),
        "d": data,
        "_rid": "Sl8fAKs1VHUBAAAAAAAAAA==",
        "_self": "dbs/Sl8fAA==/colls/Sl8fAKs1VHU=/docs/Sl8fAKs1VHUBAAAAAAAAAA==/",
        "_etag": etag,
        "_attachments": "attachments/",
        "_ts": 1733300000,
    }


def error(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    """An error answer ("HTTP Status Codes for Azure Cosmos DB",
    https://learn.microsoft.com/rest/api/cosmos-db/http-status-codes-for-cosmosdb):
    a JSON body with ``code`` and ``message``, the substatus in ``x-ms-substatus``."""
    return httpx.Response(
        status,
        json={"code": code, "message": f"{message}\r\nActivityId: 7d2c1b9e-0f3a"},
        headers={"x-ms-activity-id": "7d2c1b9e-0f3a", **headers},
    )


# --- signatures ---------------------------------------------------------------------------


def sdk_header(verb: str, resource_type: str, link: str, date: str, key: str) -> str:
    """The Authorization header the official SDK builds (azure.cosmos.auth, then quoted
    as azure.cosmos._base does)."""
    from azure.cosmos import auth

    class Connection:
        master_key = key
        resource_tokens = None

    token = auth._get_authorization_header(  # type: ignore[attr-defined]
        Connection(), verb, "", link, True, resource_type, {"x-ms-date": date}
    )
    return urllib.parse.quote(token, "-_.!~*'()")


@pytest.mark.parametrize(
    ("verb", "path"),
    [
        ("GET", "/dbs/app/colls/tenants/docs/0a1b2c"),
        ("POST", "/dbs/app/colls/tenants/docs"),
        ("PUT", "/dbs/app/colls/tenants/docs/0a1b2c"),
        ("DELETE", "/dbs/app/colls/tenants/docs/0a1b2c"),
        ("POST", "/dbs/app/colls"),
        ("GET", "/dbs/app/colls/tenants"),
        ("POST", "/dbs"),
        ("GET", "/dbs/My.Db-1/colls/Case_Sensitive/docs/Id-X"),
    ],
)
def test_master_key_signature_is_the_sdks(verb: str, path: str) -> None:
    date = "Wed, 04 Dec 2024 10:00:00 GMT"
    resource_type, link = resource_of(path)
    ours = urllib.parse.quote(
        master_signature(base64.b64decode(KEY), verb, resource_type, link, date),
        "-_.!~*'()",
    )
    assert ours == sdk_header(verb, resource_type, link, date, KEY)


@respx.mock
def test_every_request_is_signed_as_the_sdk_signs_it(db: CosmosDatabase) -> None:
    doc_id = item_id("notes", "u1", "n1")
    route = respx.get(f"{DOCS}/{doc_id}").mock(
        return_value=httpx.Response(200, json=stored("notes", "u1", "n1"))
    )
    assert db.get("acme", "notes", Key(pk="u1", sk="n1")) is not None
    request = route.calls.last.request
    date = request.headers["x-ms-date"]
    link = f"dbs/app/colls/tenants/docs/{doc_id}"
    assert request.headers["authorization"] == sdk_header("GET", "docs", link, date, KEY)
    assert request.headers["x-ms-version"] == "2020-07-15"
    assert request.headers["x-ms-documentdb-partitionkey"] == '["acme"]'


@respx.mock
def test_resource_token_is_sent_as_issued() -> None:
    # "Create a Permission" answers the token as `_token`, already in the header's form
    # (https://learn.microsoft.com/rest/api/cosmos-db/create-a-permission).
    token = "type=resource&ver=1.0&sig=Yq4vqkcXkzQr+F9W2t7HWn0m3w==;abc/def==;"
    db = make(resource_token=token)
    route = respx.get(url__startswith=f"{DOCS}/").mock(
        return_value=error(404, "NotFound", "Entity does not exist")
    )
    assert db.get("acme", "notes", Key(pk="u1")) is None
    header = route.calls.last.request.headers["authorization"]
    assert urllib.parse.unquote(header) == token
    assert "+" not in header
    assert "&" not in header
    db.close()


@respx.mock
def test_entra_token_is_sent_as_aad_and_refreshed_once_on_401() -> None:
    # Token endpoint: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
    login = respx.post(
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    )
    login.side_effect = [
        httpx.Response(
            200, json={"token_type": "Bearer", "expires_in": 3599, "access_token": "t1"}
        ),
        httpx.Response(
            200, json={"token_type": "Bearer", "expires_in": 3599, "access_token": "t2"}
        ),
    ]
    read = respx.get(url__startswith=f"{DOCS}/")
    read.side_effect = [
        error(401, "Unauthorized", "token expired"),
        httpx.Response(200, json=stored("notes", "u1")),
    ]
    db = make(
        entra={
            "tenant_id": "contoso.onmicrosoft.com",
            "client_id": "11111111-2222-3333-4444-555555555555",
            "client_secret": "planted-client-secret",
        }
    )
    assert db.get("acme", "notes", Key(pk="u1")) is not None
    first, second = (call.request for call in read.calls)
    assert urllib.parse.unquote(first.headers["authorization"]) == "type=aad&ver=1.0&sig=t1"
    assert urllib.parse.unquote(second.headers["authorization"]) == "type=aad&ver=1.0&sig=t2"
    form = urllib.parse.parse_qs(login.calls[0].request.content.decode())
    assert form["scope"] == ["https://cosmos.azure.com/.default"]
    assert form["grant_type"] == ["client_credentials"]
    assert "planted-client-secret" not in repr(db)
    db.close()


@respx.mock
def test_rejected_credentials_never_show_the_key() -> None:
    db = make()
    respx.get(url__startswith=f"{DOCS}/").mock(
        return_value=error(401, "Unauthorized", f"The input authorization token {KEY} is bad")
    )
    with pytest.raises(AuthenticationError) as caught:
        db.get("acme", "notes", Key(pk="u1"))
    assert KEY not in str(caught.value)
    assert KEY not in repr(db)
    db.close()


# --- status codes -------------------------------------------------------------------------


@respx.mock
def test_429_carries_retry_after_ms_and_the_substatus(db: CosmosDatabase) -> None:
    respx.get(url__startswith=f"{DOCS}/").mock(
        return_value=error(
            429,
            "TooManyRequests",
            "Request rate is large",
            **{"x-ms-retry-after-ms": "250", "x-ms-substatus": "3200"},
        )
    )
    with pytest.raises(RateLimited) as caught:
        db.get("acme", "notes", Key(pk="u1"))
    assert caught.value.retryable
    assert caught.value.retry_after == 0.25
    assert caught.value.code == "TooManyRequests/3200"
    assert caught.value.request_id == "7d2c1b9e-0f3a"
    assert "ActivityId" not in caught.value.message


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (449, "RetryWith", ProviderUnavailable),
        (503, "ServiceUnavailable", ProviderUnavailable),
        (408, "RequestTimeout", Timeout),
        (410, "Gone", ProviderUnavailable),
        (413, "RequestEntityTooLarge", InvalidRequest),
    ],
)
@respx.mock
def test_statuses_map_to_the_taxonomy(
    db: CosmosDatabase, status: int, code: str, expected: type[Exception]
) -> None:
    respx.post(DOCS).mock(return_value=error(status, code, "failed", **{"x-ms-substatus": "0"}))
    with pytest.raises(expected) as caught:
        db.put("acme", "notes", {"pk": "u1", "sk": "", "v": 1})
    assert caught.value.code == code  # type: ignore[attr-defined]


@respx.mock
def test_449_without_a_body_is_still_retryable(db: CosmosDatabase) -> None:
    respx.post(DOCS).mock(return_value=httpx.Response(449))
    with pytest.raises(ProviderUnavailable) as caught:
        db.put("acme", "notes", {"pk": "u1", "v": 1})
    assert caught.value.retryable
    assert caught.value.code == "RetryWith"


@respx.mock
def test_missing_container_is_a_configuration_error(db: CosmosDatabase) -> None:
    respx.get(url__startswith=f"{DOCS}/").mock(
        return_value=error(
            404, "NotFound", "Owner resource does not exist", **{"x-ms-substatus": "1003"}
        )
    )
    with pytest.raises(ConfigurationError, match="app/tenants"):
        db.get("acme", "notes", Key(pk="u1"))


# --- conditional writes -------------------------------------------------------------------


@respx.mock
def test_if_version_sends_if_match_and_a_412_decides_again(db: CosmosDatabase) -> None:
    # "Replace a Document": If-Match with the ETag; 412 when it changed meanwhile
    # (https://learn.microsoft.com/rest/api/cosmos-db/replace-a-document).
    doc_id = item_id("notes", "u1", "")
    respx.get(f"{DOCS}/{doc_id}").side_effect = [
        httpx.Response(200, json=stored("notes", "u1", etag='"v1"', n=1)),
        httpx.Response(200, json=stored("notes", "u1", etag='"v2"', n=5)),
    ]
    replace = respx.put(f"{DOCS}/{doc_id}").mock(
        return_value=error(412, "PreconditionFailed", "Operation cannot be performed")
    )
    with pytest.raises(ConditionFailed):
        db.put("acme", "notes", {"pk": "u1", "sk": "", "n": 2}, condition=IfVersion(version='"v1"'))
    assert replace.calls.last.request.headers["if-match"] == '"v1"'
    assert replace.call_count == 1  # the second read shows another version: no write


@respx.mock
def test_counter_is_read_modify_write_with_the_etag(db: CosmosDatabase) -> None:
    doc_id = item_id("notes", "c", "")
    respx.get(f"{DOCS}/{doc_id}").side_effect = [
        httpx.Response(200, json=stored("notes", "c", etag='"a"', n=1)),
        httpx.Response(200, json=stored("notes", "c", etag='"b"', n=2)),
    ]
    replace = respx.put(f"{DOCS}/{doc_id}")
    replace.side_effect = [
        error(412, "PreconditionFailed", "changed"),
        httpx.Response(200, json=stored("notes", "c", etag='"c"', n=3)),
    ]
    item = db.update("acme", "notes", Key(pk="c"), increment={"n": 1})
    assert item["n"] == 3
    assert item.version == '"c"'
    sent = [json.loads(call.request.content)["d"]["n"] for call in replace.calls]
    assert sent == [2, 3]
    assert [call.request.headers["if-match"] for call in replace.calls] == ['"a"', '"b"']


@respx.mock
def test_if_exists_on_a_missing_item_writes_nothing(db: CosmosDatabase) -> None:
    respx.get(url__startswith=f"{DOCS}/").mock(return_value=error(404, "NotFound", "missing"))
    writes = respx.post(DOCS)
    with pytest.raises(ConditionFailed):
        db.put("acme", "notes", {"pk": "u1", "v": 1}, condition=IfExists())
    assert not writes.called


# --- session tokens and continuation ------------------------------------------------------


@respx.mock
def test_session_token_of_a_write_goes_with_the_next_read(db: CosmosDatabase) -> None:
    # x-ms-session-token: answered on every request of a session-consistency account,
    # sent back on reads ("Common request headers",
    # https://learn.microsoft.com/rest/api/cosmos-db/common-cosmosdb-rest-request-headers).
    respx.post(DOCS).mock(
        return_value=httpx.Response(
            201, json=stored("notes", "u1", v=1), headers={"x-ms-session-token": "0:1#42#3=-1"}
        )
    )
    read = respx.get(url__startswith=f"{DOCS}/").mock(
        return_value=httpx.Response(200, json=stored("notes", "u1", v=1))
    )
    db.put("acme", "notes", {"pk": "u1", "v": 1})
    db.get("acme", "notes", Key(pk="u1"), consistent=True)
    assert read.calls.last.request.headers["x-ms-session-token"] == "0:1#42#3=-1"


@respx.mock
def test_consistency_level_goes_on_reads() -> None:
    db = make(consistency="Eventual")
    read = respx.get(url__startswith=f"{DOCS}/").mock(return_value=error(404, "NotFound", "no"))
    db.get("acme", "notes", Key(pk="u1"))
    assert read.calls.last.request.headers["x-ms-consistency-level"] == "Eventual"
    db.close()


@respx.mock
def test_a_page_follows_cosmos_continuations_until_it_is_full(db: CosmosDatabase) -> None:
    # "Query Documents": x-ms-max-item-count, x-ms-continuation in and out, answer
    # {"Documents": [...], "_count": n} (https://learn.microsoft.com/rest/api/cosmos-db/query-documents).
    query = respx.post(DOCS)
    query.side_effect = [
        httpx.Response(
            200,
            json={"Documents": [stored("notes", "p", "a")], "_count": 1},
            headers={"x-ms-continuation": '{"token":"+RID:~a#RT:1","range":{"min":"","max":"FF"}}'},
        ),
        httpx.Response(
            200,
            json={"Documents": [stored("notes", "p", "b"), stored("notes", "p", "c")], "_count": 2},
            headers={"x-ms-continuation": '{"token":"+RID:~c#RT:2"}'},
        ),
    ]
    page = db.query("acme", "notes", "p", sort=SortKey.prefix(""), limit=2)
    assert [i.sk for i in page.items] == ["a", "b"]
    assert page.cursor is not None
    first, second = (call.request for call in query.calls)
    assert first.headers["x-ms-max-item-count"] == "3"
    assert first.headers["x-ms-documentdb-isquery"] == "True"
    assert first.headers["content-type"] == "application/query+json"
    assert "x-ms-continuation" not in first.headers
    assert second.headers["x-ms-continuation"].startswith('{"token":"+RID:~a')
    assert second.headers["x-ms-max-item-count"] == "2"
    body = json.loads(first.content)
    assert body["query"].startswith("SELECT * FROM c WHERE c.t = @v0")
    assert {"name": "@v0", "value": "acme"} in body["parameters"]


# --- transactional batch ------------------------------------------------------------------


def batch_results(*statuses: int) -> httpx.Response:
    """A transactional batch answer ("Transactional batch" and the SDKs' batch format:
    https://learn.microsoft.com/azure/cosmos-db/nosql/transactional-batch): one result
    per operation; when one fails the service answers 207 Multi-Status, the failed
    operation carries its status and every other one 424 Failed Dependency."""
    failed = any(s >= 400 for s in statuses)
    return httpx.Response(
        207 if failed else 200,
        json=[{"statusCode": s, "requestCharge": 1.0} for s in statuses],
    )


@respx.mock
def test_transaction_is_one_atomic_batch_guarded_by_etags(db: CosmosDatabase) -> None:
    existing = stored("notes", "acct", "a", etag='"e-acct"', balance=10)
    guard = stored("rules", "g", etag='"e-guard"', on=True)
    route = respx.post(DOCS)
    route.side_effect = [
        httpx.Response(200, json={"Documents": [existing, guard], "_count": 2}),
        batch_results(200, 201, 200),
    ]
    db.transact_write(
        "acme",
        [
            TxUpdate(collection="notes", key=Key(pk="acct", sk="a"), increment={"balance": -4}),
            TxPut(collection="notes", item={"pk": "log", "sk": "1", "amount": 4}),
            TxCheck(collection="rules", key=Key(pk="g"), condition=IfVersion(version='"e-guard"')),
        ],
    )
    request = route.calls.last.request
    assert request.headers["x-ms-cosmos-is-batch-request"] == "True"
    assert request.headers["x-ms-cosmos-batch-atomic"] == "True"
    assert request.headers["x-ms-documentdb-partitionkey"] == '["acme"]'
    ops = json.loads(request.content)
    assert [op["operationType"] for op in ops] == ["Replace", "Create", "Read"]
    assert ops[0]["ifMatch"] == '"e-acct"'
    assert ops[0]["resourceBody"]["d"]["balance"] == 6
    assert ops[2] == {"operationType": "Read", "id": guard["id"], "ifMatch": '"e-guard"'}


@respx.mock
def test_a_batch_that_lost_a_race_is_decided_again(db: CosmosDatabase) -> None:
    first = stored("notes", "n", etag='"1"', v=1)
    second = stored("notes", "n", etag='"2"', v=7)
    route = respx.post(DOCS)
    route.side_effect = [
        httpx.Response(200, json={"Documents": [first], "_count": 1}),
        batch_results(412, 424),
        httpx.Response(200, json={"Documents": [second], "_count": 1}),
        batch_results(200, 201),
    ]
    db.transact_write(
        "acme",
        [
            TxUpdate(collection="notes", key=Key(pk="n"), increment={"v": 1}),
            TxPut(collection="notes", item={"pk": "m"}),
        ],
    )
    final = json.loads(route.calls.last.request.content)
    assert final[0]["ifMatch"] == '"2"'
    assert final[0]["resourceBody"]["d"]["v"] == 8


@respx.mock
def test_failed_conditions_cancel_before_anything_is_sent(db: CosmosDatabase) -> None:
    route = respx.post(DOCS).mock(
        return_value=httpx.Response(200, json={"Documents": [], "_count": 0})
    )
    with pytest.raises(TransactionCanceled) as caught:
        db.transact_write(
            "acme",
            [
                TxPut(collection="notes", item={"pk": "a"}),
                TxCheck(collection="notes", key=Key(pk="b"), condition=IfExists()),
            ],
        )
    assert caught.value.reasons == [None, "ConditionalCheckFailed"]
    assert route.call_count == 1  # the read, no batch


@respx.mock
def test_a_batch_too_large_is_an_invalid_request(db: CosmosDatabase) -> None:
    route = respx.post(DOCS)
    route.side_effect = [
        httpx.Response(200, json={"Documents": [], "_count": 0}),
        batch_results(413, 424),
    ]
    with pytest.raises(InvalidRequest):
        db.transact_write(
            "acme",
            [
                TxPut(collection="notes", item={"pk": "a"}),
                TxPut(collection="notes", item={"pk": "b"}),
            ],
        )


@respx.mock
def test_batch_put_throttled_inside_the_batch_is_retried_as_a_step() -> None:
    sleeps: list[float] = []
    retry = RetryPolicy(max_attempts=3, initial_delay=0, max_delay=0, sleep=sleeps.append)
    context = ProviderContext(tenant_id="acme", provider="cosmos", retry=retry)
    settings = CosmosSettings(endpoint=ENDPOINT, database="app", container="tenants", key=KEY)  # type: ignore[arg-type]
    db = CosmosDatabase(settings, context)
    route = respx.post(DOCS)
    throttled = httpx.Response(
        207,
        json=[
            {"statusCode": 429, "subStatusCode": 3200, "retryAfterMilliseconds": 5},
            {"statusCode": 424},
        ],
    )
    route.side_effect = [throttled, batch_results(200, 200)]
    db.batch_put("acme", "notes", [{"pk": "a", "v": 1}, {"pk": "b", "v": 2}])
    assert route.call_count == 2
    assert sleeps == [0.005]
    db.close()
