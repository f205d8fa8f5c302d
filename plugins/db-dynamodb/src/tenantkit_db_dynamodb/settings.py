"""The ``db`` section of a tenant secret for provider ``dynamodb``."""

from __future__ import annotations

from pydantic import Field

from tenantkit.aws import AWSSettings

__all__ = ["DynamoDBSettings"]


class DynamoDBSettings(AWSSettings):
    """Where the tenant's table lives and how to reach it (credentials: see
    :class:`tenantkit.aws.AWSSettings`)."""

    table: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$", description="DynamoDB table name.")
    consistent_reads: bool = Field(
        default=False, description="Strongly consistent reads for get, query and batch get."
    )
