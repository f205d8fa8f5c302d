"""The ``storage`` section of a tenant secret for provider ``gcs``.

Every field is the operator's (where the data lives, which endpoints and which
identity are used): none is declared tenant-owned.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tenantkit.settings import ProviderSettings, Secret
from tenantkit.storage import root_prefix

__all__ = ["GCSSettings", "WorkloadIdentity"]

_URL = r"^https?://[^\s/?#]+(/[^\s?#]*)?$"
_KEY_FIELDS = ("type", "client_email", "private_key")

DEFAULT_ENDPOINT = "https://storage.googleapis.com"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
DEFAULT_STS_URL = "https://sts.googleapis.com/v1/token"
DEFAULT_IAM_CREDENTIALS_URL = "https://iamcredentials.googleapis.com"


class WorkloadIdentity(BaseModel):
    """Workload identity federation from AWS: the runtime's own AWS credentials are
    exchanged at Google's STS for a federated token, which impersonates
    ``service_account``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    audience: str = Field(
        pattern=(
            r"^//iam\.googleapis\.com/projects/[0-9]{1,20}/locations/global/"
            r"workloadIdentityPools/[a-z0-9-]{4,32}/providers/[a-z0-9-]{4,32}$"
        ),
        description="The workload identity pool provider: "
        "//iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER",
    )
    service_account: str = Field(
        pattern=r"^[a-z][a-z0-9-]{4,29}@[a-z0-9.-]+\.gserviceaccount\.com$",
        description="The service account to impersonate (its email).",
    )
    sts_url: str = Field(
        default=DEFAULT_STS_URL, pattern=_URL, description="Google's STS token endpoint."
    )
    iam_credentials_url: str = Field(
        default=DEFAULT_IAM_CREDENTIALS_URL,
        pattern=_URL,
        description="The IAM Service Account Credentials API (generateAccessToken, signBlob).",
    )


class GCSSettings(ProviderSettings):
    """Which bucket holds the tenant's objects, how to reach it, and as whom.

    Exactly one credential mode: ``service_account_key`` (a JSON key) or
    ``workload_identity`` (federation from the runtime's AWS identity).
    """

    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$", description="Bucket name.")
    prefix: str = Field(
        default="", max_length=512, description="Root prefix inside the bucket, e.g. 'tenants/'."
    )
    endpoint: str = Field(
        default=DEFAULT_ENDPOINT,
        pattern=_URL,
        description="The Cloud Storage endpoint (JSON API and signed URLs).",
    )
    service_account_key: Secret | None = Field(
        default=None, max_length=16_384, description="A service account's JSON key."
    )
    token_url: str = Field(
        default=DEFAULT_TOKEN_URL,
        pattern=_URL,
        description="OAuth 2.0 token endpoint for the key (the key's own token_uri is ignored).",
    )
    workload_identity: WorkloadIdentity | None = Field(
        default=None, description="Workload identity federation from AWS instead of a key."
    )

    @field_validator("prefix")
    @classmethod
    def _normalize_prefix(cls, prefix: str) -> str:
        """A relative, ``/``-separated prefix; stored with one trailing ``/``."""
        return root_prefix(prefix)

    @field_validator("endpoint")
    @classmethod
    def _strip_slash(cls, endpoint: str) -> str:
        return endpoint.rstrip("/")

    @field_validator("service_account_key")
    @classmethod
    def _check_key(cls, key: Secret | None) -> Secret | None:
        # The messages never quote the key.
        if key is None:
            return None
        try:
            info = json.loads(key.get_secret_value())
        except ValueError:
            raise ValueError("is not valid JSON") from None
        if not isinstance(info, dict):
            raise ValueError("must be a JSON object (a service account key file)")
        missing = [name for name in _KEY_FIELDS if not isinstance(info.get(name), str)]
        if missing:
            raise ValueError(f"lacks {', '.join(missing)}")
        if info["type"] != "service_account":
            raise ValueError("is not a service account key (type must be 'service_account')")
        if "PRIVATE KEY-----" not in info["private_key"]:
            raise ValueError("private_key is not a PEM private key")
        return key

    @model_validator(mode="after")
    def _one_credential(self) -> GCSSettings:
        if (self.service_account_key is None) == (self.workload_identity is None):
            raise ValueError("set exactly one of service_account_key and workload_identity")
        return self
