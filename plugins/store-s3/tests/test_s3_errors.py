"""Error mapping into the taxonomy, retries under the core's policy, cross-account roles."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

import pytest

from tenantkit import RetryPolicy, TenantStorage
from tenantkit.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFound,
    PermissionDenied,
    ProviderUnavailable,
    Throttled,
)
from tenantkit_store_s3 import S3Settings
from tenantkit_store_s3.store import S3Store
from testharness.aws_faults import AwsFaults
from testharness.moto import MotoServer


def test_missing_objects_are_not_found(tenant_store: TenantStorage) -> None:
    with pytest.raises(NotFound) as caught:
        tenant_store.get("nope.txt")
    assert caught.value.code == "NoSuchKey"
    with pytest.raises(NotFound):
        tenant_store.stream("nope.txt")  # raised by the call, not on first read
    with pytest.raises(NotFound):
        tenant_store.head("nope.txt")
    assert not tenant_store.exists("nope.txt")


def test_slow_down_is_retried_then_surfaced_as_retryable(
    store: S3Store, scoped: Callable[..., TenantStorage], aws_faults: AwsFaults
) -> None:
    waits: list[float] = []
    tenant = scoped(store, retry=RetryPolicy(max_attempts=3, sleep=waits.append))
    fault = aws_faults.fail(
        store._client, "GetObject", status=503, code="SlowDown", message="Please reduce your rate"
    )
    with pytest.raises(Throttled) as caught:
        tenant.get("any.txt")
    assert caught.value.retryable
    assert caught.value.status == 503
    assert fault.calls == 3
    assert len(waits) == 2


def test_slow_down_that_passes_is_invisible(
    store: S3Store, scoped: Callable[..., TenantStorage], aws_faults: AwsFaults
) -> None:
    tenant = scoped(store)
    tenant.put("a.txt", b"a")
    aws_faults.fail(store._client, "HeadObject", status=503, code="SlowDown", times=2)
    assert tenant.head("a.txt").size == 1


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (403, "AccessDenied", PermissionDenied),
        (403, "InvalidAccessKeyId", AuthenticationError),
        (403, "SignatureDoesNotMatch", AuthenticationError),
        (400, "ExpiredToken", AuthenticationError),
        (503, "ServiceUnavailable", ProviderUnavailable),
        (500, "InternalError", ProviderUnavailable),
    ],
)
def test_service_errors_map_into_the_taxonomy(
    store: S3Store, aws_faults: AwsFaults, status: int, code: str, error: type
) -> None:
    aws_faults.fail(store._client, "PutObject", status=status, code=code, message="AWS SAYS")
    with pytest.raises(error) as caught:
        store.put("acme/a.txt", b"x")
    assert caught.value.code == code
    assert caught.value.request_id == "FAULT0000INJECTED"
    assert ("AWS SAYS" in str(caught.value)) is (error is not AuthenticationError)


def test_a_missing_bucket_is_a_configuration_error_naming_it(
    make_store: Callable[..., S3Store], make_settings: Callable[..., S3Settings]
) -> None:
    store = make_store(make_settings(bucket="no-such-bucket-here"))
    with pytest.raises(ConfigurationError, match="S3 bucket 'no-such-bucket-here' does not exist"):
        store.put("acme/a.txt", b"x")


def test_the_bucket_in_the_tenants_account_is_reached_through_its_role(
    make_store: Callable[..., S3Store],
    make_settings: Callable[..., S3Settings],
    scoped: Callable[..., TenantStorage],
    moto_server: MotoServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    role_arn = f"arn:aws:iam::111111111111:role/files-{secrets.token_hex(4)}"
    credentials = moto_server.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="setup")
    theirs = _client_for(moto_server, credentials["Credentials"])
    bucket = f"tenant-owned-{secrets.token_hex(4)}"
    theirs.create_bucket(Bucket=bucket)

    external_id = "planted-external-id-7f3c9e1d2b"
    caplog.set_level(logging.INFO)
    settings = make_settings(bucket=bucket, role_arn=role_arn, external_id=external_id)
    tenant = scoped(make_store(settings), secrets=(external_id,))
    tenant.put("in-their-account.txt", b"hello")
    assert theirs.get_object(Bucket=bucket, Key="acme/in-their-account.txt")["Body"].read() == (
        b"hello"
    )
    assert tenant.get("in-their-account.txt") == b"hello"
    from moto.sts.models import sts_backends

    assumed = [
        r for r in sts_backends["111111111111"]["aws"].assumed_roles if r.role_arn == role_arn
    ]
    assert [(r.session_name, r.external_id) for r in assumed[1:]] == [
        ("tenantkit-acme", external_id)
    ]
    for text in (repr(settings), repr(tenant), caplog.text, settings.model_dump_json()):
        assert external_id not in text


def _client_for(moto_server: MotoServer, credentials: dict[str, Any]) -> Any:
    return moto_server.client(
        "s3",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
