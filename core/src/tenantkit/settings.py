"""Base class for a provider's settings: its section of a tenant secret."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr

__all__ = ["ProviderSettings", "Secret", "secret_values"]

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
