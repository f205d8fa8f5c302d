"""The formats of tenant ids, keys and storage keys."""

from __future__ import annotations

import pytest

from tenantkit import errors
from tenantkit.identifiers import check_storage_key, check_storage_prefix, check_tenant_id


@pytest.mark.parametrize("tenant_id", ["a", "acme", "acme-1", "0", "a" * 63])
def test_valid_tenant_ids(tenant_id: str) -> None:
    assert check_tenant_id(tenant_id) == tenant_id


@pytest.mark.parametrize(
    "tenant_id", ["", "-a", "a-", "A", "a_b", "a/b", "a#b", "a.b", "a:b", "a" * 64, "a\x00", None]
)
def test_invalid_tenant_ids(tenant_id: object) -> None:
    with pytest.raises(errors.InvalidRequest):
        check_tenant_id(tenant_id)


@pytest.mark.parametrize("check", [check_storage_key, check_storage_prefix])
def test_lone_surrogates_are_refused_in_storage_keys(check: object) -> None:
    with pytest.raises(errors.InvalidKey, match="lone surrogate"):
        check("reports/\ud800.pdf")  # type: ignore[operator]
