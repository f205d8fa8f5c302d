"""The ``storage`` section of a tenant secret for provider ``s3``."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from tenantkit.settings import ProviderSettings, Secret

__all__ = ["S3Settings"]

_REGION = r"^[a-z0-9]+(-[a-z0-9]+)*$"
_URL = r"^https?://[^\s/?#]+(/[^\s?#]*)?$"
_ROLE_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")


class S3Settings(ProviderSettings):
    """Which bucket holds the tenant's objects and how to reach it.

    Every object lives under ``prefix`` (when set), then under the tenant's own
    prefix, which the core assigns. Credentials come from the runtime's own role, or,
    with ``role_arn``, from a role in the tenant's AWS account that the runtime
    assumes (with ``external_id`` when the role's trust policy requires one).
    """

    bucket: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$", description="Bucket name."
    )
    region: str = Field(pattern=_REGION, max_length=32, description="The bucket's region.")
    prefix: str = Field(
        default="", max_length=512, description="Root prefix inside the bucket, e.g. 'tenants/'."
    )
    endpoint_url: str | None = Field(
        default=None,
        pattern=_URL,
        description="An S3-compatible endpoint instead of AWS (path-style addressing).",
    )
    role_arn: str | None = Field(
        default=None,
        pattern=_ROLE_ARN,
        max_length=2048,
        description="Role to assume in the tenant's account.",
    )
    external_id: Secret | None = Field(
        default=None, min_length=2, max_length=1224, description="STS external id for the role."
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
        if not prefix:
            return ""
        if prefix.startswith("/") or _CONTROL.search(prefix):
            raise ValueError("must be relative, without control characters or backslashes")
        segments = prefix.removesuffix("/").split("/")
        if any(s in ("", ".", "..") for s in segments):
            raise ValueError("must not contain empty, '.' or '..' segments")
        return "/".join(segments) + "/"

    @model_validator(mode="after")
    def _external_id_needs_role(self) -> S3Settings:
        if self.external_id is not None and self.role_arn is None:
            raise ValueError("external_id is only used with role_arn")
        return self
