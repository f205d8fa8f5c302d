"""The ``db`` section of a tenant secret for provider ``cosmos``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tenantkit.settings import ProviderSettings, Secret, TenantOwned

__all__ = ["CosmosSettings", "EntraCredentials"]

# An account endpoint: scheme and host (and port), no path: the signature covers the path.
_ENDPOINT = r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$"
# Database and container ids: Cosmos refuses / \ ? # and trailing spaces; kept plain here.
_RESOURCE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$"
_GUID_OR_DOMAIN = r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$"

Consistency = Literal["Strong", "BoundedStaleness", "Session", "ConsistentPrefix", "Eventual"]


class EntraCredentials(BaseModel):
    """A Microsoft Entra ID service principal (client credentials grant)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: str = Field(pattern=_GUID_OR_DOMAIN, description="Entra directory (tenant) id.")
    client_id: str = Field(min_length=1, max_length=128, description="Application (client) id.")
    client_secret: Secret = Field(min_length=1, description="The client secret.")
    authority: str = Field(
        default="https://login.microsoftonline.com",
        pattern=r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$",
        description="Login endpoint (sovereign clouds have their own).",
    )


class CosmosSettings(ProviderSettings):
    """Where the tenant's container lives and how to sign in to it.

    Exactly one credential: ``key`` (the account key), ``resource_token`` (a token of a
    Cosmos permission on the container) or ``entra`` (a service principal). Every field
    is the operator's except ``consistency``, which can only weaken the account's
    default for the tenant's own reads.
    """

    endpoint: str = Field(
        pattern=_ENDPOINT, description="Account endpoint, https://ACCOUNT.documents.azure.com."
    )
    database: str = Field(pattern=_RESOURCE_ID, description="Database id.")
    container: str = Field(pattern=_RESOURCE_ID, description="Container id (partition key /t).")
    key: Secret | None = Field(default=None, description="Account key (primary or secondary).")
    resource_token: Secret | None = Field(
        default=None, description="Resource token of a permission on the container."
    )
    entra: EntraCredentials | None = Field(default=None, description="Entra ID service principal.")
    consistency: Annotated[Consistency | None, TenantOwned] = Field(
        default=None,
        description="Consistency of the tenant's reads; can only weaken the account default.",
    )
    ca_file: str | None = Field(
        default=None,
        pattern=r"^/[^\x00]*$",
        max_length=4096,
        description="A PEM file of CAs to trust besides the system's (a private endpoint).",
    )

    @model_validator(mode="after")
    def _one_credential(self) -> CosmosSettings:
        given = [n for n in ("key", "resource_token", "entra") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one credential: key, resource_token or entra"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self
