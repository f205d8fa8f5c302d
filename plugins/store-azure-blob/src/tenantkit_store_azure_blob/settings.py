"""The ``storage`` section of a tenant secret for provider ``azure-blob``.

Every field is the operator's (where the data lives and the credentials that reach
it); none is tenant-owned. Exactly one way to authenticate is given:

* ``account_key``: the storage account's shared key (SharedKey requests, service SAS);
* ``connection_string``: an Azure connection string (account key or SAS inside);
* ``sas_token``: a SAS token scoped to the container (no presigned URLs in this mode);
* ``entra``: a Microsoft Entra ID service principal (client credentials), with user
  delegation SAS for presigned URLs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from tenantkit.settings import ProviderSettings, Secret
from tenantkit.storage import root_prefix

__all__ = ["AzureBlobSettings", "Endpoint", "EntraSettings", "parse_connection_string"]

_URL = r"^https?://[^\s/?#]+(/[^\s?#]*)?$"
_GUID_OR_DOMAIN = r"^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$"
_ACCOUNT = r"^[a-z0-9]{3,24}$"
#: Azurite's well-known account (https://learn.microsoft.com/azure/storage/common/storage-use-azurite#well-known-storage-account-and-key)
_DEV_ACCOUNT = "devstoreaccount1"
_DEV_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


class EntraSettings(ProviderSettings):
    """A Microsoft Entra ID service principal that signs in with a client secret."""

    tenant_id: str = Field(pattern=_GUID_OR_DOMAIN, description="Directory (tenant) id.")
    client_id: str = Field(pattern=_GUID_OR_DOMAIN, description="Application (client) id.")
    client_secret: Secret = Field(min_length=1, max_length=1024, description="Client secret.")
    authority: str = Field(
        default="https://login.microsoftonline.com",
        pattern=_URL,
        description="The Entra ID authority (sovereign clouds have their own).",
    )


@dataclass(frozen=True)
class Endpoint:
    """Where the account is and the credential found for it, however it was given."""

    account_url: str
    account_name: str
    account_key: str | None = None
    sas_token: str | None = None


class AzureBlobSettings(ProviderSettings):
    """Which container holds the tenant's objects and how to reach it.

    Every object lives under ``prefix`` (when set), then under the tenant's own
    prefix, which the core assigns.
    """

    container: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", description="Container name."
    )
    account_url: str | None = Field(
        default=None,
        pattern=_URL,
        max_length=512,
        description="The Blob endpoint: https://ACCOUNT.blob.core.windows.net "
        "(or an emulator's http://127.0.0.1:10000/devstoreaccount1).",
    )
    account_name: str | None = Field(
        default=None,
        pattern=_ACCOUNT,
        description="The storage account, when account_url does not show it.",
    )
    prefix: str = Field(
        default="", max_length=512, description="Root prefix inside the container, e.g. 'tenants/'."
    )
    account_key: Secret | None = Field(
        default=None, min_length=1, max_length=256, description="The account's shared key."
    )
    connection_string: Secret | None = Field(
        default=None, min_length=1, max_length=4096, description="An Azure connection string."
    )
    sas_token: Secret | None = Field(
        default=None, min_length=1, max_length=4096, description="A SAS token for the container."
    )
    entra: EntraSettings | None = Field(
        default=None, description="A Microsoft Entra ID service principal."
    )

    @field_validator("prefix")
    @classmethod
    def _normalize_prefix(cls, prefix: str) -> str:
        """A relative, ``/``-separated prefix; stored with one trailing ``/``."""
        return root_prefix(prefix)

    @field_validator("container")
    @classmethod
    def _no_double_hyphen(cls, container: str) -> str:
        if "--" in container:
            raise ValueError("container names may not hold consecutive hyphens")
        return container

    @field_validator("sas_token")
    @classmethod
    def _sas_shape(cls, token: Secret | None) -> Secret | None:
        if token is not None and "sig=" not in token.get_secret_value():
            raise ValueError("is not a SAS token (no sig= field)")
        return token

    @model_validator(mode="after")
    def _one_credential(self) -> AzureBlobSettings:
        given = [
            name
            for name in ("account_key", "connection_string", "sas_token", "entra")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of account_key, connection_string, sas_token or entra"
            )
        if self.connection_string is not None:
            if self.account_url is not None or self.account_name is not None:
                raise ValueError("account_url and account_name come from the connection_string")
            parse_connection_string(self.connection_string.get_secret_value())
        elif self.account_url is None:
            raise ValueError("account_url is required unless a connection_string is given")
        else:
            _account_name(self.account_url, self.account_name)
        return self

    def endpoint(self) -> Endpoint:
        """The account URL, account name and credential these settings name."""
        if self.connection_string is not None:
            return parse_connection_string(self.connection_string.get_secret_value())
        assert self.account_url is not None  # checked by the validator
        url = self.account_url.rstrip("/")
        return Endpoint(
            account_url=url,
            account_name=_account_name(url, self.account_name),
            account_key=self.account_key.get_secret_value() if self.account_key else None,
            sas_token=self.sas_token.get_secret_value().lstrip("?") if self.sas_token else None,
        )


def _account_name(url: str, explicit: str | None) -> str:
    """The account name: given, else the first path segment of a path-style URL
    (emulators: ``http://127.0.0.1:10000/devstoreaccount1``), else the host's first label."""
    if explicit:
        return explicit
    parts = urlsplit(url)
    path = parts.path.strip("/")
    name = path.split("/")[0] if path else (parts.hostname or "").split(".")[0]
    if not re.fullmatch(r"[a-z0-9]{3,24}", name):
        raise ValueError("account_url does not show the account name: set account_name")
    return name


def parse_connection_string(text: str) -> Endpoint:
    """Read an Azure Storage connection string.

    Follows https://learn.microsoft.com/azure/storage/common/storage-configure-connection-string:
    ``AccountName`` with ``AccountKey`` or ``SharedAccessSignature``, and ``BlobEndpoint``
    or ``DefaultEndpointsProtocol`` + ``EndpointSuffix``; ``UseDevelopmentStorage=true``
    names the local emulator. Errors never quote the text (it holds a key).
    """
    fields: dict[str, str] = {}
    for part in text.strip().strip(";").split(";"):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ValueError("connection_string is not a list of Name=value pairs")
        fields[name.strip().lower()] = value.strip()
    if fields.get("usedevelopmentstorage", "").lower() == "true":
        return Endpoint(
            account_url=f"http://127.0.0.1:10000/{_DEV_ACCOUNT}",
            account_name=_DEV_ACCOUNT,
            account_key=_DEV_KEY,
        )
    key = fields.get("accountkey") or None
    sas = (fields.get("sharedaccesssignature") or "").lstrip("?") or None
    if (key is None) == (sas is None):
        raise ValueError("connection_string needs exactly one of AccountKey, SharedAccessSignature")
    url = fields.get("blobendpoint", "").rstrip("/")
    account = fields.get("accountname") or None
    if not url:
        if account is None:
            raise ValueError("connection_string has neither BlobEndpoint nor AccountName")
        protocol = fields.get("defaultendpointsprotocol", "https")
        suffix = fields.get("endpointsuffix", "core.windows.net")
        if protocol not in ("http", "https") or not re.fullmatch(r"[A-Za-z0-9.-]+", suffix):
            raise ValueError("connection_string has an invalid protocol or endpoint suffix")
        url = f"{protocol}://{account}.blob.{suffix}"
    if not re.fullmatch(_URL, url):
        raise ValueError("connection_string has an invalid BlobEndpoint")
    if account is not None and not re.fullmatch(_ACCOUNT, account):
        raise ValueError("connection_string has an invalid AccountName")
    if key is not None and account is None:
        raise ValueError("connection_string has an AccountKey but no AccountName")
    if sas is not None and "sig=" not in sas:
        raise ValueError("connection_string has a SharedAccessSignature without sig=")
    return Endpoint(
        account_url=url,
        account_name=_account_name(url, account),
        account_key=key,
        sas_token=sas,
    )
