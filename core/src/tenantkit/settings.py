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
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, SecretStr
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = [
    "Owner",
    "ProviderSettings",
    "Secret",
    "TenantOwned",
    "field_owner",
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

#: A credential field. Shown as ``**********`` in reprs, logs, errors and JSON dumps.
Secret = SecretStr


class ProviderSettings(BaseModel):
    """Validates one provider's section of a tenant secret.

    Subclass it in a plugin and declare the fields the provider needs; declare every
    credential as :data:`Secret`. Unknown fields are errors, and the model is frozen
    so a provider cannot change a tenant's configuration behind the core's back.
    The ``provider`` key of the section is removed before validation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


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
