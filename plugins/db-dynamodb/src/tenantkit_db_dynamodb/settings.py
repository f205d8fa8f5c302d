"""The ``db`` section of a tenant secret for provider ``dynamodb``."""

from __future__ import annotations

from pydantic import Field, model_validator

from tenantkit.settings import ProviderSettings, Secret

__all__ = ["DynamoDBSettings"]

_REGION = r"^[a-z0-9]+(-[a-z0-9]+)*$"
_URL = r"^https?://[^\s/?#]+(/[^\s?#]*)?$"
_ROLE_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$"


class DynamoDBSettings(ProviderSettings):
    """Where the tenant's table lives and how to reach it.

    Credentials come from the runtime's own role, or, with ``role_arn``, from a role in
    the tenant's AWS account that the runtime assumes (with ``external_id`` when the
    role's trust policy requires one).
    """

    table: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$", description="DynamoDB table name.")
    region: str = Field(pattern=_REGION, max_length=32, description="AWS region, e.g. eu-west-1.")
    endpoint_url: str | None = Field(
        default=None,
        pattern=_URL,
        description="An AWS-compatible endpoint instead of AWS (a local stack).",
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
    consistent_reads: bool = Field(
        default=False, description="Strongly consistent reads for get, query and batch get."
    )

    @model_validator(mode="after")
    def _external_id_needs_role(self) -> DynamoDBSettings:
        if self.external_id is not None and self.role_arn is None:
            raise ValueError("external_id is only used with role_arn")
        return self
