"""What a tenant admin may change in its own provider settings, and nothing more.

A tenant admin may set or clear only the **tenant-owned** fields (see
:mod:`tenantkit.settings`) of the provider the tenant uses now. Refused, each naming
its field path (``storage.base_url``):

* ``provider`` itself: choosing another provider changes where data lives;
* an operator-owned field (endpoints, base URLs, roles, regions, paths, keys...);
* a field whose value the tenant inherits from the deployment's defaults (the
  operator chose it for every tenant; the operator overrides it for one).

Anything else is an operator action (``tenantkit secret ...``, the operator's tools).
:func:`edit_provider_settings` applies an allowed change to the tenant's own document
and returns the names of the fields it changed; it never looks at the values beyond
copying them, so no credential reaches an error message or an audit entry.
:func:`describe_tenant_fields` lists the tenant-owned fields of a provider for an
editor (name, JSON schema, description, current value unless secret, whether the
tenant may change it now); a secret field reports only whether it is set.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from tenantkit.errors import FieldError, Forbidden, SecretValidationError
from tenantkit.settings import Owner, field_owner, is_secret_field, tenant_owned_fields

if TYPE_CHECKING:
    from tenantkit.plugins import Plugins
    from tenantkit.registry import Kind

__all__ = ["OperatorOwnedSetting", "describe_tenant_fields", "edit_provider_settings"]


class OperatorOwnedSetting(Forbidden):
    """A tenant admin tried to change a setting only the operator may change.

    ``errors`` names each refused field path and why.
    """

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        paths = ", ".join(e.path for e in errors)
        super().__init__(
            f"a tenant admin may not change {paths}: only the operator may "
            "(tenantkit secret ..., the deployment's defaults)"
        )


def edit_provider_settings(
    own: Mapping[str, Any],
    defaults: Mapping[str, Any],
    kind: Kind,
    changes: Mapping[str, Any],
    *,
    plugins: Plugins,
) -> tuple[dict[str, Any], list[str]]:
    """The tenant's own document with ``changes`` applied to its ``kind`` section.

    ``changes`` maps field names to new values; ``None`` drops the tenant's own value
    (the field goes back to its default). A ``provider`` entry is allowed only when it
    names the current provider. Returns the new document (``own`` is not modified) and
    the sorted names of the fields changed. The caller validates the result.

    Raises:
        OperatorOwnedSetting: a change the tenant may not make (403).
        SecretValidationError: the current provider is unknown, or a change names a
            field the provider does not have (422).
    """
    current, inherited = _current_and_inherited(own, defaults, kind)
    settings = plugins.get(kind, current).settings
    refused: list[FieldError] = []
    unknown: list[FieldError] = []
    for name in changes:
        path = f"{kind}.{name}"
        if name == "provider":
            if changes[name] != current:
                refused.append(FieldError(path, "choosing the provider is the operator's"))
        elif name not in settings.model_fields:
            unknown.append(FieldError(path, f"not a setting of provider {current!r}"))
        elif field_owner(settings, name) is not Owner.TENANT:
            refused.append(FieldError(path, "operator-owned setting"))
        elif name in inherited:
            refused.append(FieldError(path, "set by the deployment's defaults (the operator's)"))
    if refused:
        raise OperatorOwnedSetting(refused)
    if unknown:
        raise SecretValidationError(unknown)
    changed = sorted(name for name in changes if name != "provider")
    edited = copy.deepcopy(dict(own))
    section = edited.setdefault(kind, {})
    if not isinstance(section, dict):
        section = edited[kind] = {}
    for name in changed:
        value = changes[name]
        if value is None:
            section.pop(name, None)
        else:
            section[name] = copy.deepcopy(value)
    return edited, changed


def _current_and_inherited(
    own: Mapping[str, Any], defaults: Mapping[str, Any], kind: Kind
) -> tuple[str, set[str]]:
    """The current provider of ``kind`` and the fields the defaults set for it."""
    own_section = own.get(kind)
    default_section = defaults.get(kind)
    own_section = dict(own_section) if isinstance(own_section, Mapping) else {}
    default_section = dict(default_section) if isinstance(default_section, Mapping) else {}
    current = own_section.get("provider", default_section.get("provider"))
    if not isinstance(current, str) or not current:
        raise SecretValidationError([FieldError(f"{kind}.provider", "no provider is set")])
    inherited = (
        set(default_section) - set(own_section) - {"provider"}
        if default_section.get("provider") == current
        else set()
    )
    return current, inherited


def describe_tenant_fields(
    own: Mapping[str, Any],
    defaults: Mapping[str, Any],
    kind: Kind,
    current: BaseModel,
    *,
    plugins: Plugins,
) -> dict[str, Any]:
    """The tenant-owned fields of the current ``kind`` provider, for an editor.

    ``own`` and ``defaults`` are the tenant's document and the deployment's defaults
    (as for :func:`edit_provider_settings`); ``current`` is the validated settings in
    force. Returns ``{"provider": name, "fields": [...]}``, one entry per tenant-owned
    field in declaration order: ``name``, ``schema`` (its JSON schema, references
    inlined, no default for a secret), ``description``, ``secret``, ``editable``
    (``False`` when the deployment's defaults set it: then the operator's) and either
    ``value`` (JSON) or, for a secret, only ``set`` (whether it has a value). No
    credential is ever part of the answer.
    """
    provider, inherited = _current_and_inherited(own, defaults, kind)
    settings = plugins.get(kind, provider).settings
    schema = settings.model_json_schema()
    definitions = schema.get("$defs", {})
    owned = tenant_owned_fields(settings)
    values = current.model_dump(mode="json")
    fields: list[dict[str, Any]] = []
    for name, info in settings.model_fields.items():
        if name not in owned:
            continue
        secret = is_secret_field(settings, name)
        field_schema = _inline(schema.get("properties", {}).get(name, {}), definitions)
        entry: dict[str, Any] = {
            "name": name,
            "schema": field_schema,
            "description": info.description,
            "secret": secret,
            "editable": name not in inherited,
        }
        if secret:
            field_schema.pop("default", None)
            entry["set"] = bool(getattr(current, name, None))
        else:
            entry["value"] = values.get(name)
        fields.append(entry)
    return {"provider": provider, "fields": fields}


def _inline(schema: Any, definitions: Mapping[str, Any], depth: int = 0) -> Any:
    """``schema`` with its ``$ref``s to ``definitions`` replaced by their targets."""
    if depth > 20:
        return {}
    if isinstance(schema, list):
        return [_inline(item, definitions, depth + 1) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = definitions.get(ref.removeprefix("#/$defs/"), {})
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return {**_inline(target, definitions, depth + 1), **_inline(rest, definitions, depth + 1)}
    return {key: _inline(value, definitions, depth + 1) for key, value in schema.items()}
