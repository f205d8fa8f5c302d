"""Error mapping into the taxonomy, retries under the core's policy, schema creation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from tenantkit import IndexSpec, Key, RetryPolicy, Schema, TenantDatabase
from tenantkit.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    PermissionDenied,
    ProviderUnavailable,
    Throttled,
)
from tenantkit_db_dynamodb import DynamoDBSettings
from tenantkit_db_dynamodb.database import DynamoDBDatabase
from testharness._ports import free_port
from testharness.aws_faults import AwsFaults
from testharness.moto import MotoServer


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"],
)
def test_throttling_is_retried_then_surfaced_as_retryable(
    database: DynamoDBDatabase,
    scoped: Callable[..., TenantDatabase],
    aws_faults: AwsFaults,
    code: str,
) -> None:
    waits: list[float] = []
    tenant = scoped(database, retry=RetryPolicy(max_attempts=3, sleep=waits.append))
    fault = aws_faults.fail(database._client, "PutItem", status=400, code=code)
    with pytest.raises(Throttled) as caught:
        tenant.put("notes", {"pk": "a"})
    assert caught.value.retryable
    assert caught.value.code == code
    assert caught.value.provider == "dynamodb"
    # botocore sends each call once; the core's policy made the three attempts.
    assert fault.calls == 3
    assert len(waits) == 2


def test_throttling_that_passes_is_invisible(
    database: DynamoDBDatabase, scoped: Callable[..., TenantDatabase], aws_faults: AwsFaults
) -> None:
    fault = aws_faults.fail(
        database._client, "GetItem", status=400, code="ThrottlingException", times=2
    )
    tenant = scoped(database)
    tenant.put("notes", {"pk": "a", "v": 1})
    assert tenant.get("notes", "a")["v"] == 1  # type: ignore[index]
    assert fault.calls == 2


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (400, "UnrecognizedClientException", AuthenticationError),
        (400, "ExpiredTokenException", AuthenticationError),
        (400, "AccessDeniedException", PermissionDenied),
        (500, "InternalServerError", ProviderUnavailable),
        (503, "ServiceUnavailable", ProviderUnavailable),
    ],
)
def test_service_errors_map_into_the_taxonomy(
    database: DynamoDBDatabase, aws_faults: AwsFaults, status: int, code: str, error: type
) -> None:
    aws_faults.fail(database._client, "GetItem", status=status, code=code, message="AWS SAYS")
    with pytest.raises(error) as caught:
        database.get("acme", "notes", Key(pk="a"))
    assert caught.value.code == code
    assert caught.value.request_id == "FAULT0000INJECTED"
    # AWS's text is kept for diagnosis, except where credentials were rejected.
    assert ("AWS SAYS" in str(caught.value)) is (error is not AuthenticationError)


def test_missing_credentials_are_an_authentication_error(
    make_database: Callable[..., DynamoDBDatabase],
    scoped: Callable[..., TenantDatabase],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    tenant = scoped(make_database(ensure=False))
    with pytest.raises(AuthenticationError, match="no usable AWS credentials"):
        tenant.get("notes", "a")


def test_an_unreachable_endpoint_is_a_retryable_connection_failure(
    make_settings: Callable[..., DynamoDBSettings],
    make_database: Callable[..., DynamoDBDatabase],
) -> None:
    db = make_database(make_settings(endpoint_url=f"http://127.0.0.1:{free_port()}"), ensure=False)
    with pytest.raises(ConnectionFailed) as caught:
        db.get("acme", "notes", Key(pk="a"))
    assert caught.value.retryable


def test_a_missing_table_is_a_configuration_error_naming_it(
    make_database: Callable[..., DynamoDBDatabase], scoped: Callable[..., TenantDatabase]
) -> None:
    db = make_database(ensure=False)
    with pytest.raises(ConfigurationError, match=rf"table '{db._table}' does not exist") as caught:
        scoped(db).put("notes", {"pk": "a"})
    assert not caught.value.retryable
    assert "ensure_schema" in caught.value.message


def test_ensure_schema_creates_table_indexes_and_ttl_idempotently(
    make_database: Callable[..., DynamoDBDatabase], moto_server: MotoServer
) -> None:
    first = Schema(
        indexes=(IndexSpec(name="by_owner", collection="notes", partition_field="owner"),)
    )
    db = make_database(schema=first, ensure=False)
    db.ensure_schema(first)
    db.ensure_schema(first)
    client = moto_server.client("dynamodb")
    table = client.describe_table(TableName=db._table)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "_pk": "HASH",
        "_sk": "RANGE",
    }
    assert [g["IndexName"] for g in table["GlobalSecondaryIndexes"]] == ["notes.by_owner"]
    ttl = client.describe_time_to_live(TableName=db._table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "_exp"

    more = Schema(
        indexes=(
            *first.indexes,
            IndexSpec(name="by_day", collection="events", partition_field="day", sort_field="at"),
        )
    )
    db.ensure_schema(more)
    table = client.describe_table(TableName=db._table)["Table"]
    assert sorted(g["IndexName"] for g in table["GlobalSecondaryIndexes"]) == [
        "events.by_day",
        "notes.by_owner",
    ]
    db.put("acme", "events", {"pk": "e1", "day": "mon", "at": "09:00"})
    page = db.query_index("acme", more.indexes[1], "mon")
    assert [i.pk for i in page.items] == ["e1"]


def test_ensure_schema_adds_indexes_to_a_provisioned_table(
    make_database: Callable[..., DynamoDBDatabase], moto_server: MotoServer
) -> None:
    db = make_database(ensure=False)
    client = moto_server.client("dynamodb")
    client.create_table(
        TableName=db._table,
        KeySchema=[
            {"AttributeName": "_pk", "KeyType": "HASH"},
            {"AttributeName": "_sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "_pk", "AttributeType": "S"},
            {"AttributeName": "_sk", "AttributeType": "S"},
        ],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 3},
    )
    db.ensure_schema(Schema(indexes=(IndexSpec(name="t", collection="c", partition_field="f"),)))
    gsi = client.describe_table(TableName=db._table)["Table"]["GlobalSecondaryIndexes"][0]
    assert gsi["ProvisionedThroughput"]["ReadCapacityUnits"] == 5


def test_a_foreign_table_is_refused(
    make_database: Callable[..., DynamoDBDatabase], moto_server: MotoServer
) -> None:
    db = make_database(ensure=False)
    moto_server.client("dynamodb").create_table(
        TableName=db._table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(ConfigurationError, match="key schema"):
        db.ensure_schema(Schema())


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"table": "x"}, "table"),
        ({"region": "Not A Region"}, "region"),
        ({"endpoint_url": "ftp://example.com"}, "endpoint_url"),
        ({"role_arn": "arn:aws:iam::12:role/x"}, "role_arn"),
        ({"external_id": "abcdef"}, "external_id is only used with role_arn"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_settings_are_validated(fields: dict[str, Any], where: str) -> None:
    values = {"table": "acme-data", "region": "eu-west-1", **fields}
    with pytest.raises(ValidationError, match=where):
        DynamoDBSettings.model_validate(values)
