"""Amazon S3 (and S3-compatible) object storage provider for tenantkit (provider ``s3``).

A tenant secret selects it with::

    "storage": {"provider": "s3", "bucket": "acme-files", "region": "eu-west-1"}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tenantkit
from tenantkit_store_s3.settings import S3Settings
from tenantkit_store_s3.store import S3Store

if TYPE_CHECKING:
    from tenantkit.registry import Register

__all__ = ["S3Settings", "S3Store", "register_storage_providers"]


@tenantkit.hookimpl
def register_storage_providers(register: Register) -> None:
    register(
        "s3",
        S3Store,
        S3Settings,
        description="Amazon S3 or an S3-compatible store: one bucket, a prefix per tenant",
    )
