"""A table in the tenant's own AWS account, reached by assuming a role with STS."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

import tenantkit.aws
from tenantkit import Key, TenantDatabase
from tenantkit.errors import ConfigurationError, Throttled
from tenantkit_db_dynamodb import DynamoDBSettings
from tenantkit_db_dynamodb.database import DynamoDBDatabase
from testharness.aws_faults import AwsFaults
from testharness.moto import MotoServer

TENANT_ACCOUNT = "111111111111"


def _assumed(role_arn: str) -> list[Any]:
    """The AssumeRole calls the moto server answered for ``role_arn``."""
    from moto.sts.models import sts_backends

    return [r for r in sts_backends[TENANT_ACCOUNT]["aws"].assumed_roles if r.role_arn == role_arn]


@pytest.fixture
def role_arn() -> str:
    return f"arn:aws:iam::{TENANT_ACCOUNT}:role/tenantkit-{secrets.token_hex(4)}"


def test_the_table_lives_in_the_tenants_account(
    make_settings: Callable[..., DynamoDBSettings],
    make_database: Callable[..., DynamoDBDatabase],
    scoped: Callable[..., TenantDatabase],
    moto_server: MotoServer,
    role_arn: str,
) -> None:
    settings = make_settings(role_arn=role_arn, external_id="acme-external-id")
    tenant = scoped(make_database(settings))
    tenant.put("notes", {"pk": "u1", "text": "in the tenant's account"})
    assert tenant.get("notes", "u1")["text"] == "in the tenant's account"  # type: ignore[index]

    sts = moto_server.client("sts")
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="check")["Credentials"]
    theirs = moto_server.client(
        "dynamodb",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    assert settings.table in theirs.list_tables()["TableNames"]
    assert settings.table not in moto_server.client("dynamodb").list_tables()["TableNames"]

    calls = _assumed(role_arn)
    assert calls[0].external_id == "acme-external-id"
    assert calls[0].session_name == "tenantkit-acme"

    # Without the role, the runtime's own account has no such table.
    own = make_database(
        settings.model_copy(update={"role_arn": None, "external_id": None}), ensure=False
    )
    with pytest.raises(ConfigurationError, match=settings.table):
        own.get("acme", "notes", Key(pk="u1"))


def test_role_credentials_are_cached_and_refreshed_before_expiry(
    make_settings: Callable[..., DynamoDBSettings],
    make_database: Callable[..., DynamoDBDatabase],
    monkeypatch: pytest.MonkeyPatch,
    role_arn: str,
) -> None:
    db = make_database(make_settings(role_arn=role_arn))
    for i in range(5):
        db.put("acme", "notes", {"pk": str(i)})
    assert len(_assumed(role_arn)) == 1  # one AssumeRole for schema and five writes

    # 52 minutes later, eight minutes before the one-hour credentials expire: refreshed.
    # (moto's clock does not move, so the new credentials' expiry is moved with ours.)
    later = timedelta(minutes=52)
    real_now, real_assume = tenantkit.aws._utc_now, tenantkit.aws._assume_role

    def assume_later(sts: Any, params: dict[str, Any]) -> dict[str, str]:
        answer = real_assume(sts, params)
        expiry = datetime.fromisoformat(answer["expiry_time"]) + later
        return {**answer, "expiry_time": expiry.isoformat()}

    monkeypatch.setattr(tenantkit.aws, "_utc_now", lambda: real_now() + later)
    monkeypatch.setattr(tenantkit.aws, "_assume_role", assume_later)
    for i in range(3):
        assert db.get("acme", "notes", Key(pk=str(i))) is not None
    assert len(_assumed(role_arn)) == 2


def test_a_refused_role_is_an_authentication_error_without_secrets(
    make_settings: Callable[..., DynamoDBSettings],
    make_database: Callable[..., DynamoDBDatabase],
    scoped: Callable[..., TenantDatabase],
    aws_faults: AwsFaults,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    role_arn: str,
) -> None:
    external_id = "planted-external-id-5d41402abc4b2a76"
    settings = make_settings(role_arn=role_arn, external_id=external_id)
    db = make_database(settings, ensure=False)
    # Fail every AssumeRole made by STS clients created from now on.
    original = tenantkit.aws._assume_role

    def refused(sts: Any, params: dict[str, Any]) -> dict[str, str]:
        message = "User: arn:aws:sts::123456789012:assumed-role/runtime/fn is not authorized "
        message += f"to perform: sts:AssumeRole on resource: {role_arn}"
        aws_faults.fail(sts, "AssumeRole", status=403, code="AccessDenied", message=message)
        return original(sts, params)

    monkeypatch.setattr(tenantkit.aws, "_assume_role", refused)
    # What production logs hold (botocore's DEBUG wire log prints every request parameter
    # and is never on in production).
    caplog.set_level(logging.INFO)
    tenant = scoped(db, secrets=(external_id,))
    with pytest.raises(Exception) as caught:
        tenant.get("notes", "u1")
    error = caught.value
    assert type(error).__name__ == "AuthenticationError"
    assert "assuming the tenant's role failed (AccessDenied)" in str(error)
    assert "Refreshing temporary credentials failed" in caplog.text
    for text in (str(error), repr(error), repr(settings), repr(db), caplog.text):
        assert external_id not in text
    assert external_id not in settings.model_dump_json()


def test_throttled_sts_is_retryable(
    make_settings: Callable[..., DynamoDBSettings],
    make_database: Callable[..., DynamoDBDatabase],
    aws_faults: AwsFaults,
    monkeypatch: pytest.MonkeyPatch,
    role_arn: str,
) -> None:
    db = make_database(make_settings(role_arn=role_arn), ensure=False)
    original = tenantkit.aws._assume_role

    def throttled(sts: Any, params: dict[str, Any]) -> dict[str, str]:
        aws_faults.fail(sts, "AssumeRole", status=400, code="Throttling", times=1)
        return original(sts, params)

    monkeypatch.setattr(tenantkit.aws, "_assume_role", throttled)
    with pytest.raises(Throttled):
        db.get("acme", "notes", Key(pk="u1"))
