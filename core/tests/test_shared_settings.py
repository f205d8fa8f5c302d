"""The settings helpers the core shares with the storage and AWS plugins."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tenantkit.aws import AWSSettings
from tenantkit.storage import root_prefix


@pytest.mark.parametrize(
    ("given", "stored"),
    [("", ""), ("tenants", "tenants/"), ("tenants/", "tenants/"), ("a/b/c/", "a/b/c/")],
)
def test_root_prefix_is_stored_with_one_trailing_slash(given: str, stored: str) -> None:
    assert root_prefix(given) == stored


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("/abs", "must be relative"),
        ("a\\b", "backslashes"),
        ("a\x00b", "control characters"),
        ("a//b", "empty"),
        ("a/../b", "'..'"),
        ("./a", "'.'"),
    ],
)
def test_root_prefix_refuses_what_could_leave_the_root(given: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        root_prefix(given)


class _Service(AWSSettings):
    table: str


def test_aws_settings_check_the_shared_fields() -> None:
    ok = _Service.model_validate(
        {
            "table": "t",
            "region": "eu-west-1",
            "role_arn": "arn:aws:iam::123456789012:role/tenant",
            "external_id": "ext-0123",
        }
    )
    assert ok.external_id is not None
    assert ok.external_id.get_secret_value() == "ext-0123"
    with pytest.raises(ValidationError, match="external_id is only used with role_arn"):
        _Service.model_validate({"table": "t", "region": "eu-west-1", "external_id": "ext-0123"})
    with pytest.raises(ValidationError) as caught:
        _Service.model_validate({"table": "t", "region": "EU WEST", "role_arn": "arn:aws:s3:::x"})
    assert {e["loc"][0] for e in caught.value.errors()} == {"region", "role_arn"}
