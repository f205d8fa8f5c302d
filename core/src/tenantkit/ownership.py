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
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tenantkit.errors import FieldError, PermissionDenied, SecretValidationError
from tenantkit.settings import Owner, field_owner

if TYPE_CHECKING:
    from tenantkit.plugins import Plugins
    from tenantkit.registry import Kind

__all__ = ["OperatorOwnedSetting", "edit_provider_settings"]


class OperatorOwnedSetting(PermissionDenied):
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
