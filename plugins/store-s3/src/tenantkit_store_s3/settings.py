"""The ``storage`` section of a tenant secret for provider ``s3``."""

from __future__ import annotations

from pydantic import Field, field_validator

from tenantkit.aws import AWSSettings
from tenantkit.storage import root_prefix

__all__ = ["S3Settings"]


class S3Settings(AWSSettings):
    """Which bucket holds the tenant's objects and how to reach it.

    Every object lives under ``prefix`` (when set), then under the tenant's own
    prefix, which the core assigns. With ``endpoint_url`` (an S3-compatible store),
    objects are addressed path-style. Credentials: see :class:`tenantkit.aws.AWSSettings`.
    """

    bucket: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$", description="Bucket name."
    )
    prefix: str = Field(
        default="", max_length=512, description="Root prefix inside the bucket, e.g. 'tenants/'."
    )
    kms_key_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9:/_.-]{1,2048}$",
        description="KMS key (id, ARN or alias) for SSE-KMS encryption of new objects.",
    )

    @field_validator("prefix")
    @classmethod
    def _normalize_prefix(cls, prefix: str) -> str:
        """A relative, ``/``-separated prefix; stored with one trailing ``/``."""
        return root_prefix(prefix)
