"""The shared AWS plumbing: botocore exceptions mapped into the taxonomy, client options."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from tenantkit import errors
from tenantkit.aws import classify, make_client, role_session_name


def _client_error(
    code: str, status: int, message: str = "AWS SAYS", operation: str = "GetItem"
) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "req-1"},
    }
    return ClientError(response, operation)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, errors.Throttled),
        ("ProvisionedThroughputExceededException", 400, errors.Throttled),
        ("RequestLimitExceeded", 400, errors.Throttled),
        ("SlowDown", 503, errors.Throttled),
        ("UnrecognizedClientException", 400, errors.AuthenticationError),
        ("ExpiredToken", 400, errors.AuthenticationError),
        ("AccessDenied", 403, errors.PermissionDenied),
        ("ValidationException", 400, errors.InvalidRequest),
        ("InternalError", 500, errors.ProviderUnavailable),
        ("RequestTimeout", 400, errors.Timeout),
        ("404", 404, errors.NotFound),
        ("SomethingNew", 400, errors.InvalidRequest),
        ("SomethingNew", 502, errors.ProviderUnavailable),
        ("SomethingNew", 429, errors.RateLimited),  # the status table of every provider
    ],
)
def test_client_errors_by_code_then_status(code: str, status: int, expected: type) -> None:
    error = classify(_client_error(code, status), "dynamodb")
    assert type(error) is expected
    assert (error.provider, error.code, error.status, error.request_id) == (
        "dynamodb",
        code,
        status,
        "req-1",
    )
    assert error.retryable is expected.retryable


def test_plugin_codes_come_first() -> None:
    codes = {"ConditionalCheckFailedException": errors.ConditionFailed}
    error = classify(_client_error("ConditionalCheckFailedException", 400), "x", codes=codes)
    assert type(error) is errors.ConditionFailed


def test_messages_keep_aws_text_except_for_rejected_credentials() -> None:
    denied = classify(_client_error("AccessDenied", 403, "User u may not GetItem"), "dynamodb")
    assert "User u may not GetItem" in str(denied)
    rejected = classify(_client_error("InvalidClientTokenId", 403, "key AKIA123"), "dynamodb")
    assert "AKIA123" not in str(rejected)
    assert "rejected the credentials" in str(rejected)


def test_a_role_that_cannot_be_assumed_is_an_authentication_error() -> None:
    refused = classify(_client_error("AccessDenied", 403, operation="AssumeRole"), "s3")
    assert type(refused) is errors.AuthenticationError
    assert "role_arn" in refused.message
    throttled = classify(_client_error("Throttling", 400, operation="AssumeRole"), "s3")
    assert type(throttled) is errors.Throttled


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ConnectTimeoutError(endpoint_url="http://x"), errors.Timeout),
        (ReadTimeoutError(endpoint_url="http://x"), errors.Timeout),
        (EndpointConnectionError(endpoint_url="http://x"), errors.ConnectionFailed),
        (NoCredentialsError(), errors.AuthenticationError),
        (ParamValidationError(report="bad"), errors.InvalidRequest),
    ],
)
def test_botocore_exceptions(exc: Exception, expected: type) -> None:
    assert type(classify(exc, "s3")) is expected


def test_role_session_names_fit_sts() -> None:
    assert role_session_name("acme") == "tenantkit-acme"
    assert len(role_session_name("a" * 63)) == 64


def test_clients_make_one_attempt_with_timeouts() -> None:
    client = make_client(
        "dynamodb",
        region="eu-west-1",
        endpoint_url="http://127.0.0.1:9",
        read_timeout=7.0,
        role_arn="arn:aws:iam::111111111111:role/r",
        external_id="ext",
    )
    config: Any = client.meta.config
    assert config.retries["total_max_attempts"] == 1
    assert (config.connect_timeout, config.read_timeout) == (3.0, 7.0)
    assert client.meta.region_name == "eu-west-1"
    client.close()


def test_clients_of_the_default_chain_share_one_session(monkeypatch: pytest.MonkeyPatch) -> None:
    from tenantkit import aws

    made: list[Any] = []
    real = aws._new_session

    def counting() -> Any:
        made.append(real())
        return made[-1]

    monkeypatch.setattr(aws, "_new_session", counting)
    monkeypatch.setattr(aws, "_default", None)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "first")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "first-secret")
    make_client("dynamodb", region="us-east-1", read_timeout=5)
    make_client("s3", region="us-east-1", read_timeout=5)
    assert len(made) == 1
    make_client("dynamodb", region="us-east-1", read_timeout=5, role_arn="arn:aws:iam::1:role/x")
    assert len(made) == 2  # a tenant's role never shares the function's session
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "second")
    make_client("dynamodb", region="us-east-1", read_timeout=5)
    assert len(made) == 3  # new credentials in the environment: a new session
