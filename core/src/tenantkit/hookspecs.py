"""The hooks a provider plugin implements: one collector hook per provider kind.

A plugin module implements one or more of these with :data:`tenantkit.hookimpl` and
calls ``register`` once per provider name it offers::

    @tenantkit.hookimpl
    def register_db_providers(register):
        register("example", ExampleDatabase, ExampleSettings)

``register(name, factory, settings, *, capabilities=None, description="")``:

* ``name`` is the provider name a tenant secret uses; it must also be the entry-point
  name under which the distribution declares the module.
* ``factory(settings, context)`` builds an instance (usually the provider class);
  ``settings`` is an instance of the settings model, ``context`` a
  :class:`tenantkit.ProviderContext`.
* ``settings`` is a :class:`tenantkit.ProviderSettings` subclass validating the
  provider's section of a tenant secret.
* ``capabilities`` defaults to the factory's ``capabilities`` class attribute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from tenantkit.registry import Register

__all__ = ["hookimpl", "hookspec"]

PROJECT = "tenantkit"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_db_providers(register: Register) -> None:
    """Register database providers (kind ``db``, entry-point group ``tenantkit.db``)."""


@hookspec
def register_llm_providers(register: Register) -> None:
    """Register LLM providers (kind ``llm``, entry-point group ``tenantkit.llm``)."""


@hookspec
def register_storage_providers(register: Register) -> None:
    """Register object storage providers (kind ``storage``, group ``tenantkit.storage``)."""
