"""Base class for a provider's settings: its section of a tenant secret, and who owns each field.

Every field of a provider's settings has an owner:

* the **operator** (the default): where the data lives, endpoints and base URLs,
  roles, regions, paths, signing keys. Only the operator's tools change them.
* the **tenant**: what the plugin declares with :data:`TenantOwned`, such as the
  API key and model of an LLM account the tenant brings itself. A tenant admin may
  change these through the config API.

Declare it once, on the field::

    class Settings(tenantkit.ProviderSettings):
        endpoint: str                                   # operator-owned
        api_key: Annotated[tenantkit.Secret, tenantkit.TenantOwned]
        model: Annotated[str, tenantkit.TenantOwned] = "small"

A URL a tenant may set is a :data:`PublicHttpsUrl`: ``https``, and never a loopback,
link-local, private or otherwise non-public address unless the operator lists that
network in ``TENANTKIT_PRIVATE_URL_NETWORKS`` for the deployment. The conformance kit
(:mod:`tenantkit.testing.settings`) checks every provider's declaration.
"""

# Annotations are evaluated at class definition (no ``from __future__ import
# annotations``): pydantic would otherwise compile each field's annotation from its
# text when the model is defined, a cost paid on every cold start.

import enum
import ipaddress
import os
import socket
import typing
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, GetJsonSchemaHandler, SecretStr
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = [
    "PRIVATE_URL_NETWORKS_ENV",
    "Owner",
    "ProviderSettings",
    "PublicHttpsUrl",
    "Secret",
    "TenantOwned",
    "field_owner",
    "is_secret_field",
    "secret_values",
    "tenant_owned_fields",
]

#: The JSON-schema key that carries a field's owner (``tenantkit secret schema`` shows it).
OWNER_SCHEMA_KEY = "x-tenantkit-owner"


class Owner(enum.StrEnum):
    """Who may change a settings field."""

    OPERATOR = "operator"
    TENANT = "tenant"


@dataclass(frozen=True)
class _Ownership:
    """Field metadata naming the field's owner (use :data:`TenantOwned`)."""

    owner: Owner

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema[OWNER_SCHEMA_KEY] = self.owner.value
        return schema


#: Marks a settings field as the tenant's own: ``Annotated[str, TenantOwned]``.
TenantOwned: Any = _Ownership(Owner.TENANT)

#: The deployment setting listing the networks (CIDR, comma-separated) that a tenant's
#: :data:`PublicHttpsUrl` may nevertheless point into, e.g. ``10.20.0.0/16``.
PRIVATE_URL_NETWORKS_ENV = "TENANTKIT_PRIVATE_URL_NETWORKS"

_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for part in os.environ.get(PRIVATE_URL_NETWORKS_ENV, "").split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                continue  # an unreadable entry allows nothing
    return networks


def _host_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a literal host names: IPv6, dotted IPv4, or the forms resolvers also
    take as IPv4 (``127.1``, ``0x7f.0.0.1``, ``2130706433``)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_public_https_url(value: str) -> str:
    """``value`` if it is an ``https`` URL to a public host; raises ``ValueError``.

    Refused: other schemes, credentials in the URL, query or fragment, and hosts that
    are loopback, link-local, private, shared, multicast, reserved or unspecified
    addresses (also in integer or IPv4-mapped forms), or local names (``localhost``,
    ``*.local``, ``*.internal``...), unless the address lies in a network the operator
    lists in ``TENANTKIT_PRIVATE_URL_NETWORKS``. The message never quotes the value.
    """
    if not isinstance(value, str) or len(value) > 2048:
        raise ValueError("must be an https URL of at most 2048 characters")
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").rstrip(".").lower()
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ValueError("must be a well-formed https URL") from None
    if parts.scheme != "https":
        raise ValueError("must be an https URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials")
    if parts.query or parts.fragment or any(c.isspace() for c in value):
        raise ValueError("must not have a query, a fragment or spaces")
    if not host:
        raise ValueError("must name a host")
    address = _host_address(host)
    if address is None:
        if host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES) or "." not in host:
            raise ValueError("must name a public host, not a local name")
        return value
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_global and not address.is_multicast:
        return value
    if any(address in network for network in _allowed_networks()):
        return value
    raise ValueError(
        "must name a public host, not a loopback, link-local or private address "
        f"(the operator may allow a network with {PRIVATE_URL_NETWORKS_ENV})"
    )


#: An ``https`` URL to a public host: the type of any URL a tenant may set.
PublicHttpsUrl = Annotated[str, AfterValidator(check_public_https_url)]

#: A credential field. Shown as ``**********`` in reprs, logs, errors and JSON dumps.
Secret = SecretStr


class ProviderSettings(BaseModel):
    """Validates one provider's section of a tenant secret.

    Subclass it in a plugin and declare the fields the provider needs; declare every
    credential as :data:`Secret`. Unknown fields are errors, and the model is frozen
    so a provider cannot change a tenant's configuration behind the core's back.
    The ``provider`` key of the section is removed before validation.
    """

    # Deferred: this base is never validated itself, and each plugin's subclass is
    # built once, on its first use, not when every plugin's module is imported.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=False, defer_build=True
    )


def secret_values(model: BaseModel) -> list[str]:
    """Every ``SecretStr`` value inside ``model`` (nested models, lists and dicts too)."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(model)
    return [s for s in found if s]


def field_owner(settings: type[BaseModel], name: str) -> Owner:
    """The owner of field ``name`` of a settings class: the operator unless declared."""
    info = settings.model_fields[name]
    for item in info.metadata:
        if isinstance(item, _Ownership):
            return item.owner
    return Owner.OPERATOR


def tenant_owned_fields(settings: type[BaseModel]) -> frozenset[str]:
    """The names of the fields a tenant admin may change."""
    return frozenset(
        name for name in settings.model_fields if field_owner(settings, name) is Owner.TENANT
    )


def is_secret_field(settings: type[BaseModel], name: str) -> bool:
    """Whether field ``name`` of a settings class holds a credential (a :data:`Secret`,
    also inside ``Optional``, unions, lists or dicts)."""

    def holds_secret(annotation: Any) -> bool:
        if isinstance(annotation, type) and issubclass(annotation, SecretStr):
            return True
        return any(holds_secret(arg) for arg in typing.get_args(annotation))

    return holds_secret(settings.model_fields[name].annotation)
